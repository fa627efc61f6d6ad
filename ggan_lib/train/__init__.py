"""Training: the phase engine, Algorithm 1 (GGAN) and the baselines' loops."""
