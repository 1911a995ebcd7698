# stage: teacher_cache
