"""Facts and small tools every layer may import; nothing here imports the rest of kis_pipeline."""
