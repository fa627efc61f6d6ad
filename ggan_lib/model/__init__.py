"""The networks: layers, architecture tables as data, the eight GGAN networks, the baselines, the latent sampler."""
