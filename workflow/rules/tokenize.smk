# stage: tokenize
