"""Who waits where: one scripted session against a stage, traced with strace, drawn as a timeline.

The session is the same for every stage (SESSION below): four clients, one that connects and
stays idle, two that send a line each at staggered times, and one that sends a long line in
three pieces and half-closes. The server runs under `strace -f -ttt -T`, which writes one line
per system call of every process and thread, with its start time (the wall clock, as the
clients' time.time()) and its duration. chapter.strace.parse() reads those lines back into calls,
Trace (timeline.py) groups them into one lane per process or thread, and draw.py plots the lanes under the
clients' own events: a bar for each call that blocked (took BLOCKED_MIN or more), a tick for
the others, failed EAGAIN calls in red, and a red band for a lane with too many of them to
tick one by one (03's busy loop).

The pieces: session.py (the scripted clients), chapter/strace.py (running strace and parse(),
the pure reader of its output), timeline.py (lanes, facts, summary, and trace(), which runs a
stage under strace and plays the session), draw.py (the SVG and the side-by-side page), cli.py
(scripts/trace). tests/docs/test_traces.py runs the same code and checks the facts
(Trace.facts()) against the committed ones in docs/traces/ and against each stage's lesson
(`trace.lesson` in its stage.json).
"""
