python*:::function-entry { self->ts[copyinstr(arg1)] = timestamp; }
python*:::function-return /self->ts[copyinstr(arg1)]/ { @t[copyinstr(arg1)] = sum(timestamp - self->ts[copyinstr(arg1)]); self->ts[copyinstr(arg1)] = 0; }
