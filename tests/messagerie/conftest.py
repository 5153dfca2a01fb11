"""Messagerie fixtures: file samples and GraphQL documents shared by the tests."""

from __future__ import annotations

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 64

THREAD_FIELDS = """id service serviceName householdName childId childName status assignedToId unreadCount
  awaitingReplySince unansweredMinutes lastMessage { body authorSide }"""
START = f"""mutation($service: String!, $body: String!, $childId: ID, $attachments: [Upload!]) {{
  startMessagerieThread(service: $service, body: $body, childId: $childId, attachments: $attachments) {{ {THREAD_FIELDS} }} }}"""
REPLY = """mutation($id: ID!, $body: String!, $attachments: [Upload!]) {
  replyMessagerieThread(threadId: $id, body: $body, attachments: $attachments) {
    id body authorSide attachments { id filename contentType url } } }"""
THREAD = f"""query($id: ID!) {{ messagerieThread(id: $id) {{ {THREAD_FIELDS}
  messages {{ items {{ id body authorSide authorName readAt attachments {{ filename url }} }} }} }} }}"""
THREADS = f"""query($status: MessagerieThreadStatus, $service: String, $unanswered: Boolean! = false) {{
  messagerieThreads(status: $status, service: $service, unansweredOnly: $unanswered) {{ total hasMore items {{ {THREAD_FIELDS} }} }} }}"""
MARK_READ = """mutation($id: ID!) { markMessagerieThreadRead(threadId: $id) { id unreadCount } }"""
ASSIGN = """mutation($id: ID!, $agent: ID) { assignMessagerieThread(threadId: $id, agentId: $agent) { id assignedToId } }"""
CLOSE = """mutation($id: ID!) { closeMessagerieThread(threadId: $id) { id status } }"""
REOPEN = """mutation($id: ID!) { reopenMessagerieThread(threadId: $id) { id status } }"""
UNREAD = "{ messagerieUnreadCount }"
CRECHE = "creche_la_ritournelle"
