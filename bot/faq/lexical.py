"""BM25 over jieba words plus character bigrams, so exact domain terms weigh in.

Dense sentence vectors blur rare, decisive terms ('色带' vs '打印纸', '终端号' vs
'商户号'); BM25 rewards them by IDF. Two token streams go into one bag:

* jieba words, with a domain dictionary so '签购单' or 'pos机' stays one word;
* character bigrams of every CJK run ('不打单' -> '不打', '打单'), which catch
  wordings jieba segments differently and typos of one character.

The engine makes one BM25 document per entry (its wordings and its answer) and one per
negative; an index whose documents share an owner scores the max over them. For fusion
the raw score is divided by
the query's *self score* (BM25 of the query against a document identical to it),
which maps it to [0, 1]: 1 means every query term is matched as well as it could be.
Query terms that occur nowhere in the KB count in that denominator with the highest
IDF, so an off-topic question that shares one word ('怎么') with the KB stays low.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np

from bot.faq.encoders import has_content, normalize_text

# Terms jieba would split; lowercase because texts are lowercased before tokenising.
DOMAIN_WORDS = (
    "色带",
    "签购单",
    "商户号",
    "终端号",
    "刷卡机",
    "收银机",
    "pos机",
    "pos",
    "结算卡",
    "到账",
    "到帐",
    "签到",
    "闪付",
    "云闪付",
    "打印纸",
    "热敏纸",
    "小票",
    "小票纸",
    "流量卡",
    "流量费",
    "服务费",
    "年费",
    "费率",
    "手续费",
    "押金",
    "激活",
    "绑卡",
    "换绑",
    "解绑",
    "冻结",
    "风控",
    "退款",
    "撤销",
    "预授权",
    "扫码",
    "收款码",
    "付款码",
    "商户app",
    "秒到",
    "提现",
    "日切",
    "对账",
    "流水",
    "结算",
    "拒付",
    "调单",
    "密码键盘",
    "磁条",
    "磁条卡",
    "芯片卡",
    "ic卡",
    "非接",
    "挥卡",
    "银联",
    "机具",
    "电签",
    "大pos",
    "t+1",
    "t+0",
    "d+0",
    "d+1",
    "d0",
    "t0",
    "t1",
    "sim卡",
    "4g",
    "wifi",
    "蓝牙",
    "营业执照",
    "法人",
    "实名认证",
    "信用卡",
    "储蓄卡",
    "借记卡",
    "花呗",
    "微信",
    "支付宝",
    "限额",
    "单笔",
    "调额",
    "充电器",
    "电池",
    "屏幕",
    "黑屏",
    "死机",
    "开机",
    "关机",
    "重启",
    "网络",
    "信号",
    "参数",
    "下载",
    "主密钥",
    "工作密钥",
    "批次号",
    "凭证号",
    "参考号",
    "退货",
    "冲正",
    "交易失败",
    "余额",
    "发票",
)
STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 嘛 哦 哈 啦 么 呗 哎 嗯 得 地 着 过 我 我的 我们 你 你们 您 您好 你好 请问 一下 "
    "这个 那个 就 都 也 还 又 和 跟 与 及 或".split()
)
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

_jieba = None
_jieba_lock = threading.Lock()


def _tokenizer():
    """A private jieba instance (the global one may be configured differently by other code)."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba  # local import: loading its dictionary is slow, only BM25 search needs it

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            tk.initialize()
            for word in DOMAIN_WORDS:
                # High frequency: the domain term wins over jieba's own segmentation.
                tk.add_word(word, freq=200_000)
            _jieba = tk
        return _jieba


def tokenize(text: str, *, normalized: bool = False) -> list[str]:
    """Words (minus particles/punctuation) plus '#'-prefixed CJK character bigrams."""
    t = text if normalized else normalize_text(text)
    if not t:
        return []
    words = [w for w in _tokenizer().lcut(t, HMM=True) if has_content(w) and w.strip() not in STOPWORDS]
    tokens = [w.strip() for w in words]
    for run in _CJK_RUN.findall(t):
        tokens.extend("#" + run[i : i + 2] for i in range(len(run) - 1))
    return tokens


class BM25Index:
    """Okapi BM25 with an inverted index in numpy arrays (no per-document Python loops at query time)."""

    def __init__(
        self,
        docs: Sequence[Sequence[str]],
        doc_entry: np.ndarray,
        n_entries: int,
        k1: float = 1.2,
        b: float = 0.5,
    ):
        self.k1, self.b = k1, b
        self.n_docs = len(docs)
        self.n_entries = n_entries
        self.doc_entry = np.asarray(doc_entry, dtype=np.int64)
        lengths = np.fromiter((len(d) for d in docs), dtype=np.float32, count=self.n_docs)
        self.avgdl = float(lengths.mean()) if self.n_docs else 1.0
        self.avgdl = max(self.avgdl, 1e-6)
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        self.vocab = {t: i for i, t in enumerate(df)}
        n = self.n_docs
        self.idf = np.array([math.log(1.0 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in df], dtype=np.float32)
        # A term absent from the KB: what its IDF would be (df = 0); used for query self-scores.
        self.idf_unseen = math.log(1.0 + (n + 0.5) / 0.5)
        postings: list[list[int]] = [[] for _ in self.vocab]
        pweights: list[list[float]] = [[] for _ in self.vocab]
        for doc_id, d in enumerate(docs):
            norm = k1 * (1.0 - b + b * lengths[doc_id] / self.avgdl)
            for term, tf in Counter(d).items():
                tid = self.vocab[term]
                postings[tid].append(doc_id)
                pweights[tid].append(self.idf[tid] * tf * (k1 + 1.0) / (tf + norm))
        self.token_cache: dict[str, list[str]] = {}  # text -> tokens, filled by from_texts
        self.postings = [np.asarray(p, dtype=np.int64) for p in postings]
        self.pweights = [np.asarray(w, dtype=np.float32) for w in pweights]

    @classmethod
    def from_texts(
        cls, texts: Sequence[str], doc_entry, n_entries: int, *, reuse: dict[str, list[str]] | None = None, **kw
    ) -> BM25Index:
        """An index over ``texts``; ``reuse`` (another index's ``token_cache``) spares tokenising
        the texts it already holds: a hot reload after one edit tokenises that entry only. (Tokens
        depend on the text and the lexicon, which a process loads once.)"""
        reuse = reuse or {}
        docs = [reuse[t] if t in reuse else tokenize(t) for t in texts]
        index = cls(docs, doc_entry, n_entries, **kw)
        index.token_cache = dict(zip(texts, docs))
        return index

    def self_score(self, tokens: Sequence[str]) -> float:
        """BM25 of the query against a document made of exactly the query's terms."""
        if not tokens:
            return 0.0
        norm = self.k1 * (1.0 - self.b + self.b * len(tokens) / self.avgdl)
        total = 0.0
        for term, tf in Counter(tokens).items():
            tid = self.vocab.get(term)
            idf = self.idf[tid] if tid is not None else self.idf_unseen
            total += idf * tf * (self.k1 + 1.0) / (tf + norm)
        return float(total)

    def raw_doc_scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 of every document (dense array); each distinct query term counts once.

        Ignoring query term frequency keeps a document identical to the query at exactly
        ``self_score`` (the normaliser), and stops a pasted, repetitive message from
        piling weight on one term.
        """
        scores = np.zeros(self.n_docs, dtype=np.float32)
        for term in set(tokens):
            tid = self.vocab.get(term)
            if tid is not None:
                scores[self.postings[tid]] += self.pweights[tid]
        return scores

    def entry_scores(self, query: str, *, normalized: bool = False) -> np.ndarray:
        """Normalised [0, 1] score per entry (max over the entry's wordings)."""
        return self.entry_scores_tokens(tokenize(query, normalized=normalized))

    def entry_scores_tokens(self, tokens: Sequence[str]) -> np.ndarray:
        out = np.zeros(self.n_entries, dtype=np.float32)
        denom = self.self_score(tokens)
        if denom <= 0.0:
            return out
        doc_scores = self.raw_doc_scores(tokens)
        hit = np.flatnonzero(doc_scores)
        if hit.size:
            np.maximum.at(out, self.doc_entry[hit], doc_scores[hit])
            out /= denom
            np.minimum(out, 1.0, out=out)
        return out
