import asyncio, pytest
from tests.test_webhook_fuzz import *  # noqa

@pytest.mark.parametrize("sid", ["a\x00b", "SM" + "0" * 200, "\ud800x"[1:], "é" * 70])
async def test_probe(panel, sid):
    form = twilio_status_form(sid, "delivered")
    body = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in form.items()).encode()
    response = await panel.post_twilio(STATUS_CALLBACK_PATH, body, panel.sign(STATUS_CALLBACK_PATH, form))
    print(sid[:10], response.status)
    assert response.status < 500
