# stage: models
