tick-1s, END { printa("%-20s %@d\n", @calls); trunc(@calls, 10); clear(@x); }
