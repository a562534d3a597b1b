"""FAQ retrieval: knowledge base, encoders, hybrid dense + BM25 search, evaluation.

Entry points: ``bot.faq.engine.FaqEngine`` (search, hot reload; the scoring core is
``bot.faq.scoring``), ``bot.faq.loader.load_kb`` (validation), ``posbot faq ...`` (``bot.faq.cli``). See docs/faq.md. Kept import-free so
``import bot.faq.kb`` (or ``bot.faq.loader``) does not pull in numpy/FAISS.
"""
