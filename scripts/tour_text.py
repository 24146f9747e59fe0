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
        "01.measured": "{bytes} bytes fetched in {ms:.0f} ms",
        "01.lesson": "Lesson: blocking code reads top to bottom, but it waits on one socket at a "
                     "time ({measured}).",
        "01.row": "fetch a page, blocking",
        "02.title": "02-fork-server: one process per client",
        "02.run": "Three clients connect at once and each sends two lines:",
        "02.reaped": "clients closed: every child exited and was reaped (no zombies)",
        "02.measured": "{children} clients -> {children} child processes",
        "02.lesson": "Lesson: fork() keeps each client's code simple, at the price of a process "
                     "per client ({measured}).",
        "02.row": "processes per client",
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
        "06.lesson": "Lesson: bufferevents take the reading and writing off our hands at little "
                     "cost ({measured}).",
        "06.row": "backend and flat cost",
        "07.title": "07-epoll-server (bonus): what libevent does on Linux, by hand",
        "07.run": "Raw epoll, level-triggered; round trips alone, then beside 2000 idle "
                  "connections:",
        "07.lesson": "Lesson: epoll by hand costs more code for the same flat cost; libevent "
                     "gives it to us portably ({measured}).",
        "07.row": "raw epoll, flat cost",
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
        "01.measured": "{ms:.0f} 毫秒内取得 {bytes} 字节",
        "01.lesson": "要点：阻塞式代码从上读到下，一目了然，但它一次只能等待一个套接字（{measured}）。",
        "01.row": "阻塞式获取页面",
        "02.title": "02-fork-server：每个客户端一个进程",
        "02.run": "三个客户端同时连接，每个发送两行：",
        "02.reaped": "客户端已关闭：每个子进程都已退出并被回收（没有僵尸进程）",
        "02.measured": "{children} 个客户端 -> {children} 个子进程",
        "02.lesson": "要点：fork() 让每个客户端的代码保持简单，代价是每个客户端占用一个进程（{measured}）。",
        "02.row": "每个客户端的进程数",
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
        "06.lesson": "要点：bufferevent 替我们完成读写，代价很小（{measured}）。",
        "06.row": "后端与平稳的开销",
        "07.title": "07-epoll-server（附加）：libevent 在 Linux 上替我们做的事，亲手写出来",
        "07.run": "直接使用 epoll，水平触发；先单独测往返时间，再在 2000 个空闲连接旁测：",
        "07.lesson": "要点：亲手使用 epoll，代码更多，开销同样平稳；libevent 则以可移植的方式给了我们同样的效果"
                     "（{measured}）。",
        "07.row": "直接使用 epoll，开销平稳",
        "evt.measured": "{backend}；往返时间 {none:.0f} 微秒 -> 有 2000 个空闲连接时 "
                        "{many:.0f} 微秒；空闲 CPU {cpu:.0f}%",
    },
}
