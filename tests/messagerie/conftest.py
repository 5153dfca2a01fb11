"""Messagerie fixtures: file samples and GraphQL documents shared by the tests."""

from __future__ import annotations

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 64

THREAD_FIELDS = """id service serviceName householdName childId childName status assignedToId unreadCount
  awaitingReplySince unansweredMinutes lastMessage { body fromStaff }"""
START = f"""mutation($service: String!, $body: String!, $childId: ID, $attachments: [Upload!]) {{
  startMessageThread(service: $service, body: $body, childId: $childId, attachments: $attachments) {{ {THREAD_FIELDS} }} }}"""
REPLY = """mutation($id: ID!, $body: String!, $attachments: [Upload!]) {
  replyMessageThread(threadId: $id, body: $body, attachments: $attachments) {
    id body fromStaff attachments { id filename contentType url } } }"""
THREAD = f"""query($id: ID!) {{ messageThread(id: $id) {{ {THREAD_FIELDS}
  messages {{ id body fromStaff authorName readAt attachments {{ filename url }} }} }} }}"""
THREADS = f"""query($status: String, $service: String, $unanswered: Boolean! = false) {{
  messageThreads(status: $status, service: $service, unansweredOnly: $unanswered) {{ {THREAD_FIELDS} }} }}"""
MARK_READ = """mutation($id: ID!) { markMessageThreadRead(threadId: $id) { id unreadCount } }"""
ASSIGN = """mutation($id: ID!, $agent: ID) { assignMessageThread(threadId: $id, agentId: $agent) { id assignedToId } }"""
CLOSE = """mutation($id: ID!) { closeMessageThread(threadId: $id) { id status } }"""
REOPEN = """mutation($id: ID!) { reopenMessageThread(threadId: $id) { id status } }"""
UNREAD = "{ messageUnreadCount }"
CRECHE = "creche_la_ritournelle"
