python$target:::function-entry { @calls[copyinstr(arg1), copyinstr(arg0)] = count(); }
