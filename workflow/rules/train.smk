# stage: train
