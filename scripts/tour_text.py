"""The tour's narration, in English and Simplified Chinese. Keys are shared; {names} are filled
in with live measurements."""

TEXT = {
    "en": {
        "intro": "A tour of chapter 1 of the libevent book: each stage runs here, on loopback, "
                 "and its lesson is measured live.",
        "summary": "Summary",
        "done": "Every stage behaved. Tour finished in {seconds:.0f} s.",
        "failed": "These stages misbehaved: {stages}",
        "interrupted": "Tour interrupted: every server it started has been stopped.",
        "01.title": "01-blocking-client: one conversation, every call blocks",
        "01.run": "Fetching a page from a local HTTP server on 127.0.0.1:{port} ...",
        "01.fetched": "{bytes} bytes fetched in {ms:.0f} ms, every byte as served",
        "01.block": "Now a server that accepts and never answers; while the client waits in "
                    "recv(), what /proc says of it:",
        "01.server": "server: got '{request}', answers nothing",
        "01.blocked": "state {state}, asleep in {call} for {seconds:.1f} s: {cpu:.0f}% CPU, "
                      "woken {switches} times",
        "01.woken": "the server closes the connection: recv() returns 0, end of file; the client "
                    "exits {code} with {bytes} bytes",
        "01.pages": "Three pages, the first sent a second late; the client sends every request, "
                    "then reads each socket to its end in turn:",
        "01.page": "page {n} {path:7} ready at {ready:6.0f} ms, read at {first:6.0f} ms "
                   "(its end at {end:.0f} ms)",
        "01.clocks": "(ready: when the tour's server sent it, counted from the first request "
                     "it received; read: the client's --timing, counted from its start, just "
                     "before it sent that request)",
        "01.measured": "{blocked}; page 3 ready at {ready:.0f} ms, read at {read:.0f} ms",
        "01.lesson": "Lesson: a blocked call sleeps at no CPU cost, but the program waits on one "
                     "socket at a time, while another's page sits unread ({measured}).",
        "01.row": "blocking: asleep in recv(), one socket at a time",
        "02.title": "02-fork-server: one process per client",
        "02.run": "Three clients connect at once and each sends two lines:",
        "02.reaped": "clients closed: every child exited and was reaped (no zombies)",
        "02.measured": "{children} clients -> {children} child processes",
        "02.lesson": "Lesson: fork() keeps each client's code simple, at the price of a process "
                     "per client ({measured}).",
        "02.row": "processes per client",
        "02b.title": "02b-thread-server: one thread per client",
        "02b.run": "Ten clients connect, are answered once each, and stay idle; the server's "
                   "/proc/PID/status before and after:",
        "02b.alone": "no client",
        "02b.crowd": "{count} idle clients",
        "02b.status": "{who:16} Threads {Threads:3}, VmRSS {VmRSS:7} KiB, VmSize {VmSize:8} KiB",
        "02b.per": "per connection: one thread, VmRSS +{rss:.0f} KiB resident, VmSize "
                   "+{size:.1f} MiB of address space (its stack, and glibc's malloc arena for "
                   "the thread; reserved, mostly untouched)",
        "02b.joined": "clients closed: every thread ended and was joined (Threads back to 1)",
        "02b.switches": "{who:3}: {per:.2f} context switches per line, 50 clients with a "
                        "line each in flight",
        "02b.measured": "{count} clients -> {threads} threads; +{rss:.0f} KiB resident, "
                        "+{size:.1f} MiB address space each; {switches:.2f} context switches "
                        "per line (07: {loop:.2f})",
        "02b.lesson": "Lesson: a thread costs less than a process, but there is still one per "
                      "client, each with address space reserved for it, and every line wakes "
                      "a thread of its own, where one event loop serves many lines per wakeup "
                      "({measured}).",
        "02b.row": "threads, memory and wakeups per client",
        "02c.title": "02c-thread-pool-server: a fixed pool of threads",
        "02c.run": "A pool of 2 threads; two clients connect and stay idle, then a third sends "
                   "a line:",
        "02c.idle": "clients 1 and 2: answered once, now idle, each holding one of the 2 threads",
        "02c.queued": "client 3: sent 'Hello', no answer in {ms:.0f} ms: it waits in the queue",
        "02c.answered": "client 1 leaves: client 3 is answered {after:.1f} ms later: {got}",
        "02c.measured": "client 3 waited {waited:.0f} ms, answered {after:.1f} ms after a thread "
                        "came free",
        "02c.lesson": "Lesson: a pool caps the threads, but a blocking thread is held by its "
                      "client, idle or not ({measured}).",
        "02c.row": "pool of 2, a third client waits",
        "03.title": "03-nonblocking-spin: non-blocking sockets, and no way to wait",
        "03.run": "One server, every socket non-blocking; ten clients connect and stay idle:",
        "03.measured": "{percent:.0f}% of a CPU while 10 clients sit idle",
        "03.lesson": "Lesson: without a readiness API the loop never sleeps ({measured}).",
        "03.row": "CPU while idle",
        "04.title": "04-select-server: sleep in select() until a socket is ready",
        "04.run": "Round trips alone, then beside 1000 idle connections, then past FD_SETSIZE:",
        "04.cost": "median round trip: {none:.0f} us alone, {many:.0f} us beside 1000 idle "
                   "connections; CPU while idle {cpu:.0f}%",
        "04.measured": "refuses descriptor {fd}; round trip {none:.0f} us -> {many:.0f} us "
                       "with 1000 idle",
        "04.lesson": "Lesson: select() sleeps while idle, but each wakeup scans every "
                     "descriptor up to the largest, and none past 1023 fit ({measured}).",
        "04.row": "FD_SETSIZE and cost per wakeup",
        "05.title": "05-libevent-events: libevent calls us back when a socket is ready",
        "05.run": "Same server on libevent; round trips alone, then beside 2000 idle connections:",
        "05.lesson": "Lesson: libevent picks the best backend, with no FD_SETSIZE and a cost "
                     "that stays flat as idle connections pile up ({measured}).",
        "05.row": "backend and flat cost",
        "06.title": "06-libevent-bufferevent: libevent does the IO, we handle lines",
        "06.run": "Same again with bufferevents; round trips alone, then beside 2000 idle "
                  "connections:",
        "06.lesson": "Lesson: bufferevents take the reading and writing off our hands; idle "
                     "connections still cost no CPU, but every round trip makes more system "
                     "calls than 05's ({measured}).",
        "06.row": "backend and flat cost",
        "07.title": "07-epoll-server (bonus): what libevent does on Linux, by hand",
        "07.run": "Raw epoll, level-triggered; round trips alone, then beside 2000 idle "
                  "connections:",
        "07.lesson": "Lesson: epoll by hand costs more code for the same flat cost; libevent "
                     "gives it to us portably ({measured}).",
        "07.row": "raw epoll, flat cost",
        "08.title": "08-io-uring-server (bonus): completion IO with io_uring",
        "08.run": "We hand the kernel the receives and sends; it tells us when each is done:",
        "08.not_built": "08-io-uring-server was not built here (liburing not found): skipped.",
        "08.not_built_row": "not built (no liburing)",
        "08.during": "during {trips} round trips",
        "08.ring": "strace unavailable here; the ring's counters in /proc/PID/fdinfo, during "
                   "{trips} round trips: {submitted} submissions, {completed} completions",
        "08.measured": "round trip {rtt:.0f} us; {trips} round trips: {enters} io_uring_enter, "
                       "{io} recv/send/read/write",
        "08.measured_ring": "round trip {rtt:.0f} us; {trips} round trips: {submitted} "
                            "submissions, {completed} completions",
        "08.lesson": "Lesson: the kernel does the receiving and sending; the server only submits "
                     "and reaps, in io_uring_enter() ({measured}).",
        "08.row": "system calls per round trip",
        "evt.measured": "{backend}; round trip {none:.0f} us -> {many:.0f} us with 2000 idle; "
                        "idle CPU {cpu:.0f}%",
    },
    "zh-CN": {
        "intro": "libevent 书第一章导览：每个阶段都在本机回环地址上运行，并现场测量它要说明的道理。",
        "summary": "总结",
        "done": "所有阶段表现正常。用时 {seconds:.0f} 秒。",
        "failed": "以下阶段表现异常：{stages}",
        "interrupted": "导览已中断：它启动的服务器都已停止。",
        "01.title": "01-blocking-client：一次对话，每个调用都阻塞",
        "01.run": "从 127.0.0.1:{port} 上的本地 HTTP 服务器获取一个页面……",
        "01.fetched": "{ms:.0f} 毫秒内取得 {bytes} 字节，与服务器发出的逐字节一致",
        "01.block": "再换一个只接受连接、从不回答的服务器；客户端等在 recv() 里时，/proc 这样描述它：",
        "01.server": "服务器：收到 '{request}'，不作回答",
        "01.blocked": "状态 {state}，在 {call} 里睡了 {seconds:.1f} 秒：CPU {cpu:.0f}%，"
                      "被唤醒 {switches} 次",
        "01.woken": "服务器关闭连接：recv() 返回 0，即 EOF；客户端以 {code} 退出，输出 {bytes} 字节",
        "01.pages": "三个页面，第一个晚一秒才发出；客户端先发出所有请求，再依次把每个套接字读到结束：",
        "01.page": "页面 {n} {path:7} {ready:6.0f} 毫秒时就绪，{first:6.0f} 毫秒时才被读取"
                   "（{end:.0f} 毫秒时读完）",
        "01.clocks": "（就绪：导览的服务器发出它的时刻，从它收到第一个请求算起；读取：客户端 "
                     "--timing 的输出，从客户端启动算起，也就是它发出那个请求之前不久）",
        "01.measured": "{blocked}；页面 3 在 {ready:.0f} 毫秒时就绪，{read:.0f} 毫秒时才被读取",
        "01.lesson": "要点：阻塞的调用在睡眠中等待，不耗 CPU；但程序一次只能等一个套接字，"
                     "别的套接字上到了的页面只能放着没人读（{measured}）。",
        "01.row": "阻塞：睡在 recv() 里，一次一个套接字",
        "02.title": "02-fork-server：每个客户端一个进程",
        "02.run": "三个客户端同时连接，每个发送两行：",
        "02.reaped": "客户端已关闭：每个子进程都已退出并被回收（没有僵尸进程）",
        "02.measured": "{children} 个客户端 -> {children} 个子进程",
        "02.lesson": "要点：fork() 让每个客户端的代码保持简单，代价是每个客户端占用一个进程（{measured}）。",
        "02.row": "每个客户端的进程数",
        "02b.title": "02b-thread-server：每个客户端一个线程",
        "02b.run": "十个客户端连上，各得到一次回答后保持空闲；服务器的 /proc/PID/status，连接前后对比：",
        "02b.alone": "没有客户端",
        "02b.crowd": "{count} 个空闲客户端",
        "02b.status": "{who}：Threads {Threads}，VmRSS {VmRSS} KiB，VmSize {VmSize} KiB",
        "02b.per": "每个连接：一个线程，常驻内存 VmRSS +{rss:.0f} KiB，地址空间 VmSize "
                   "+{size:.1f} MiB（线程的栈，以及 glibc 为该线程保留的 malloc arena；"
                   "只是预留，大多没有用到）",
        "02b.joined": "客户端已关闭：每个线程都已结束并被 join（Threads 回到 1）",
        "02b.switches": "{who}：每行 {per:.2f} 次上下文切换（50 个客户端，每个同时有一行在途）",
        "02b.measured": "{count} 个客户端 -> {threads} 个线程；每个常驻 +{rss:.0f} KiB，"
                        "地址空间 +{size:.1f} MiB；每行 {switches:.2f} 次上下文切换"
                        "（07：{loop:.2f}）",
        "02b.lesson": "要点：线程比进程便宜，但仍是每个客户端一个，每个都要预留一份地址空间；"
                      "而且每一行都要唤醒一个线程，事件循环则一次唤醒处理许多行（{measured}）。",
        "02b.row": "每个客户端的线程、内存与唤醒",
        "02c.title": "02c-thread-pool-server：固定大小的线程池",
        "02c.run": "线程池只有 2 个线程；两个客户端连上后保持空闲，然后第三个发送一行：",
        "02c.idle": "客户端 1 和 2：各得到一次回答后保持空闲，各占住 2 个线程中的一个",
        "02c.queued": "客户端 3：发出 'Hello'，{ms:.0f} 毫秒内没有回答：它在队列里等着",
        "02c.answered": "客户端 1 离开：{after:.1f} 毫秒后客户端 3 得到回答：{got}",
        "02c.measured": "客户端 3 等了 {waited:.0f} 毫秒，在有线程空出后 {after:.1f} 毫秒得到回答",
        "02c.lesson": "要点：线程池限制了线程数，但阻塞式的线程被它的客户端占住，不管客户端有没有在说话（{measured}）。",
        "02c.row": "2 个线程的池，第三个客户端要等",
        "03.title": "03-nonblocking-spin：非阻塞套接字，却无从等待",
        "03.run": "一个服务器，所有套接字都是非阻塞的；十个客户端连上后保持空闲：",
        "03.measured": "10 个空闲客户端时占用 {percent:.0f}% 的 CPU",
        "03.lesson": "要点：没有就绪通知接口，循环永远不会休眠（{measured}）。",
        "03.row": "空闲时的 CPU",
        "04.title": "04-select-server：在 select() 中休眠，直到有套接字就绪",
        "04.run": "先单独测往返时间，再在 1000 个空闲连接旁测，最后越过 FD_SETSIZE：",
        "04.cost": "往返时间中位数：单独 {none:.0f} 微秒，旁有 1000 个空闲连接时 {many:.0f} 微秒；"
                   "空闲时 CPU {cpu:.0f}%",
        "04.measured": "拒绝描述符 {fd}；往返时间 {none:.0f} 微秒 -> 有 1000 个空闲连接时 "
                       "{many:.0f} 微秒",
        "04.lesson": "要点：select() 空闲时休眠，但每次唤醒都要扫描到最大的描述符，"
                     "而且编号 1024 及以上的描述符根本放不进去（{measured}）。",
        "04.row": "FD_SETSIZE 与每次唤醒的开销",
        "05.title": "05-libevent-events：套接字就绪时由 libevent 回调我们",
        "05.run": "同样的服务器改用 libevent；先单独测往返时间，再在 2000 个空闲连接旁测：",
        "05.lesson": "要点：libevent 选用最好的后端，没有 FD_SETSIZE 限制，"
                     "空闲连接再多，开销也保持平稳（{measured}）。",
        "05.row": "后端与平稳的开销",
        "06.title": "06-libevent-bufferevent：libevent 负责读写，我们只处理行",
        "06.run": "再换成 bufferevent；先单独测往返时间，再在 2000 个空闲连接旁测：",
        "06.lesson": "要点：bufferevent 替我们完成读写；空闲连接照样不耗 CPU，"
                     "但每次往返都比 05 多几次系统调用（{measured}）。",
        "06.row": "后端与平稳的开销",
        "07.title": "07-epoll-server（附加）：libevent 在 Linux 上替我们做的事，亲手写出来",
        "07.run": "直接使用 epoll，水平触发；先单独测往返时间，再在 2000 个空闲连接旁测：",
        "07.lesson": "要点：亲手使用 epoll，代码更多，开销同样平稳；libevent 则以可移植的方式给了我们同样的效果"
                     "（{measured}）。",
        "07.row": "直接使用 epoll，开销平稳",
        "08.title": "08-io-uring-server（附加）：用 io_uring 做完成式 IO",
        "08.run": "我们把接收和发送交给内核；每一项完成时，内核通知我们：",
        "08.not_built": "这里没有构建 08-io-uring-server（没找到 liburing）：跳过。",
        "08.not_built_row": "未构建（没有 liburing）",
        "08.during": "{trips} 次往返期间",
        "08.ring": "这里用不了 strace；改看 /proc/PID/fdinfo 里环的计数器，{trips} 次往返期间："
                   "提交 {submitted} 项，完成 {completed} 项",
        "08.measured": "往返时间 {rtt:.0f} 微秒；{trips} 次往返：io_uring_enter {enters} 次，"
                       "recv/send/read/write {io} 次",
        "08.measured_ring": "往返时间 {rtt:.0f} 微秒；{trips} 次往返：提交 {submitted} 项，"
                            "完成 {completed} 项",
        "08.lesson": "要点：接收和发送由内核完成；服务器只在 io_uring_enter() 里提交请求、收取完成结果（{measured}）。",
        "08.row": "每次往返的系统调用",
        "evt.measured": "{backend}；往返时间 {none:.0f} 微秒 -> 有 2000 个空闲连接时 "
                        "{many:.0f} 微秒；空闲 CPU {cpu:.0f}%",
    },
}
