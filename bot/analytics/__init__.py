"""What the bot fails at and how it does: the FAQ turn log, the unanswered queue, analytics.

* ``models``   the ``faq_turns`` table (migration ``0010_faq_turns``);
* ``turns``    ``FaqTurnLog``: the chat's FAQ decisions, what the merchant took, 👍/👎, resolutions,
  and the unanswered questions they leave (``unanswered_questions``);
* ``clusters`` grouping similar questions with the FAQ engine's encoder;
* ``unanswered`` the staff queue of questions the bot did not answer, grouped;
* ``period``   the dashboard's range of local days, and the local day of a timestamp in SQL;
* ``queries``  every number of the analytics dashboard (one query layer).
"""
