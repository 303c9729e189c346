"""A real SMTP server for the tests: accepts every message and writes it, parsed, to a
folder as one JSON file per message. Usage: smtp_sink.py FOLDER PORT"""
import email
import json
import os
import sys
import uuid
from email import policy

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["from"]),
            "to": str(message["to"]),
            "subject": str(message["subject"]),
            "message_id": str(message["message-id"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
            # Images embedded for the HTML to show (a school's crest): found by Content-ID.
            "inline": [
                {
                    "content_id": str(part["content-id"]),
                    "content_type": part.get_content_type(),
                    "size": len(part.get_content()),
                }
                for part in message.walk()
                if part["content-id"]
            ],
        }
        path = os.path.join(self.folder, uuid.uuid4().hex + ".json")
        with open(path + ".tmp", "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


folder, port = sys.argv[1], int(sys.argv[2])
os.makedirs(folder, exist_ok=True)
controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
