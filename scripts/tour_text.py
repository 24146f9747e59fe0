"""The tour's narration, in English and Simplified Chinese. Keys are shared; {names} are filled
in with live measurements."""

TEXT = {
    "en": {
        "intro": "A tour of chapter 1 of the libevent book: each stage runs here, on loopback, "
                 "and its lesson is measured live.",
        "summary": "Summary",
        "done": "Every stage behaved. Tour finished in {seconds:.0f} s.",
        "failed": "These stages misbehaved: {stages}",
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
    },
    "zh-CN": {
        "intro": "libevent 书第一章之旅:每个阶段都在本机回环地址上运行,并现场测量它要说明的道理。",
        "summary": "总结",
        "done": "所有阶段表现正常。用时 {seconds:.0f} 秒。",
        "failed": "以下阶段表现异常:{stages}",
        "01.title": "01-blocking-client:一次对话,每个调用都阻塞",
        "01.run": "从 127.0.0.1:{port} 上的本地 HTTP 服务器获取一个页面……",
        "01.measured": "{ms:.0f} 毫秒内取得 {bytes} 字节",
        "01.lesson": "要点:阻塞式代码从上读到下,一目了然,但它一次只能等待一个套接字({measured})。",
        "01.row": "阻塞式获取页面",
        "02.title": "02-fork-server:每个客户端一个进程",
        "02.run": "三个客户端同时连接,每个发送两行:",
        "02.reaped": "客户端已关闭:每个子进程都已退出并被回收(没有僵尸进程)",
        "02.measured": "{children} 个客户端 -> {children} 个子进程",
        "02.lesson": "要点:fork() 让每个客户端的代码保持简单,代价是每个客户端占用一个进程({measured})。",
        "02.row": "每个客户端的进程数",
    },
}
