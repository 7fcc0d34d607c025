"""The online chat: conversations, messages, the websocket hub, leads (docs/chat-protocol.md)."""
