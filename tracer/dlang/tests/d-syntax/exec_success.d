proc:::exec-success { trace(execname); }
