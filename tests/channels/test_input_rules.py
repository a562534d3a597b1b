"""bot.chat.service's input rule on WeChat: intent syntax counts only as an offered button's payload.

The numbered topics of the welcome are offered buttons (so "6" still reaches Rasa as
/request_human), the operator's menu payloads are the channel's own, and /intent text
typed into WeChat by the merchant reaches Rasa as plain words.
"""

from __future__ import annotations


async def test_topic_numbers_still_send_their_payload(harness):
    side = harness.wechat()
    await harness.post(side, side.event_xml("subscribe"))
    await harness.say(side, "5")
    assert harness.rasa.texts(f"wechat:{side.openid}") == ["/greet", "/check_ticket"]


async def test_intent_syntax_typed_into_wechat_is_plain_text(harness):
    side = harness.wechat()
    await harness.say(side, "/request_human")
    await harness.say(side, '/inform{"merchant_id":"898310048161234"}')
    assert harness.rasa.texts(f"wechat:{side.openid}") == ["request_human", 'inform{"merchant_id":"898310048161234"}']


async def test_typing_an_offered_payload_is_the_same_as_its_number(harness):
    side = harness.wechat()
    await harness.post(side, side.event_xml("subscribe"))
    await harness.say(side, "/check_ticket")  # offered in the welcome's topics
    assert harness.rasa.texts(f"wechat:{side.openid}")[-1] == "/check_ticket"


async def test_the_operators_menu_payloads_are_trusted(make_harness):
    h = await make_harness(wechat_menu={"MY_TICKETS": '/check_ticket{"ticket_scope":"mine"}'})
    side = h.wechat()
    await h.post(side, side.event_xml("CLICK", "MY_TICKETS"))
    assert h.rasa.texts(f"wechat:{side.openid}") == ['/check_ticket{"ticket_scope":"mine"}']
