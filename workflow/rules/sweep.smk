# stage: sweep
