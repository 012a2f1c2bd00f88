// Marks what rtkvm marks, at once: the time the browser needs before any app can run.
performance.mark('rtkvm:start');
performance.mark('rtkvm:plan-rendered');
