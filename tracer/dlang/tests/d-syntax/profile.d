profile-997hz /pid == $target && arg1/ { @[ustack()] = count(); }
