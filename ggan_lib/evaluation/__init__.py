"""Evaluation beyond IS / FID (those live in ggan_lib.metrics): representation accuracy (Table II),
t-SNE with k-NN / silhouette scores (Fig. 5) and latent interpolation (Fig. 4)."""
from ggan_lib.evaluation.accuracy import (PAPER_FRACTIONS, GGANClassifier, Method, ProtocolResult, accuracy,
                                          accuracy_protocol, ali_method, batched_apply, cnn_method, eval_mode,
                                          features, ggan_accuracy, ggan_method, ggan_trainer_fn, predict_logits)
from ggan_lib.evaluation.interpolation import (Interpolation, interpolate_latent, interpolate_z, interpolate_ze,
                                               lerp_path, path_smoothness, plot_interpolation)
from ggan_lib.evaluation.representation import (knn_accuracy, plot_embedding, representation_scores, silhouette,
                                                tsne_embedding, tsne_report)

__all__ = ["PAPER_FRACTIONS", "GGANClassifier", "Method", "ProtocolResult", "accuracy", "accuracy_protocol",
           "ali_method", "batched_apply", "cnn_method", "eval_mode", "features", "ggan_accuracy", "ggan_method",
           "ggan_trainer_fn", "predict_logits", "Interpolation", "interpolate_latent", "interpolate_z",
           "interpolate_ze", "lerp_path", "path_smoothness", "plot_interpolation", "knn_accuracy",
           "plot_embedding", "representation_scores", "silhouette", "tsne_embedding", "tsne_report"]
