"""A socket that stops reading cannot make its process hold an ever-growing queue."""

from __future__ import annotations

from widget_server.chat.hub import MAX_PENDING, OVERFLOW, ChatHub, Listener


def test_a_stuck_socket_keeps_one_overflow_frame_and_nothing_else() -> None:
    hub = ChatHub()
    listener = Listener(site_id=1, visitor_id=7)
    hub.add(listener)
    event = {"site": 1, "visitor": 7, "visitor_frame": {"t": "typing", "c": 3, "on": True}}
    for _ in range(MAX_PENDING):
        hub.dispatch(event)
    assert len(listener.queue) == MAX_PENDING and not listener.stuck
    hub.dispatch(event)  # one more than it may hold
    assert listener.stuck
    assert len(listener.queue) == 1
    assert listener.queue.popleft() is OVERFLOW
    for _ in range(10):
        hub.dispatch(event)
        listener.put({"t": "pong"})
    assert not listener.queue  # nothing more for a socket about to be closed


def test_other_sockets_are_not_affected() -> None:
    hub = ChatHub()
    stuck, reading = Listener(site_id=1, visitor_id=7), Listener(site_id=1, visitor_id=7)
    hub.add(stuck)
    hub.add(reading)
    event = {"site": 1, "visitor": 7, "visitor_frame": {"t": "typing", "c": 3, "on": True}}
    for _ in range(MAX_PENDING + 5):
        hub.dispatch(event)
        if reading.queue:
            reading.queue.popleft()
    assert stuck.stuck and not reading.stuck
