# stage: data
