"""The Python of the repository, one package imported by name (`from chapter import stages`):
the registry of stages, and everything the tests, the tester, the tour, the tracer and the
benchmarks share. The commands in scripts/ and bench/run are thin: each runs one module here.

    stages       the registry: every NN-name/stage.json, read and checked; the builds
    rules        the rules of docs/protocol.md as scripts/check's steps, and the IO models
    reference    the protocol's reference model (ROT13, lines, answers)
    client       a raw-socket client that speaks bytes, with readable failures
    bytesdiff    expected and received bytes side by side, a marker under the first difference
    payloads     random payloads from one printed seed
    server       starting and stopping a server as a user would
    target       what the suite tests: a command it starts (Target, Command) or a server
                 started by hand (Connect), and the servers they start (Server)
    procfs       what /proc says of a process: state, children, threads, CPU, memory, sockets
    measure      measurements the lessons and the tour share (idle CPU, round trips)
    sampling     background samples of a server's memory; figures kept for the docs
    strace       strace as the tour, the tracer and the tests use it, and its output read back
    pytest_plugin  the suites' options, markers and fixtures (loaded by conftest.py)
    checker, check   scripts/check: its pytest plugin (steps, reports) and its command line
    tour         scripts/tour; each stage's own step is its tour.py
    trace/       scripts/trace: the session, the timeline, the drawing
    bench/       bench/run: the plan, the measurements and the report
    complexity   scripts/complexity: the docs/complexity pages, read from the code
    complexity_cpp  its reading of C++, with libclang
    stagediff    scripts/stage-diff
    docsite      scripts/docs-site
    mentions     scripts/stage-mentions: where each stage is named outside its directory
    robustness_figures  scripts/robustness-figures
"""
