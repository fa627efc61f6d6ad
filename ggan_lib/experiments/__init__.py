"""Experiments built from the library: the accuracy protocol, gender guidance, the pretrained zoo, reproduction."""
