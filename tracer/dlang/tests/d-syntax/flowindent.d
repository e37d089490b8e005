#pragma D option quiet
self int depth;
python$target:::function-entry { self->depth++; printf("%*s-> %s:%s\n", self->depth * 2, "", copyinstr(arg0), copyinstr(arg1)); }
