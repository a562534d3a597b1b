"""What the bot fails at and how it does: the FAQ turn log, the unanswered queue, analytics.

* ``models``   the ``faq_turns`` table (migration ``0010_faq_turns``);
* ``turns``    ``FaqTurnLog``: the chat's FAQ decisions, what the merchant took, 👍/👎, resolutions;
* ``clusters`` grouping similar questions with the FAQ engine's encoder;
* ``unanswered`` the staff queue of questions the bot did not answer, grouped;
* ``queries``  every number of the analytics dashboard (one query layer).
"""
