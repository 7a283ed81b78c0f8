"""A local stand-in for an Amazon Rekognition Custom Labels model.

Pretrained EfficientNet-Lite0 image features (ONNX, run with onnxruntime) and a multinomial logistic
regression trained on a folder-per-label dataset; versions are stored with Custom Labels-style ARNs and
answer the embedded endpoint's DetectCustomLabels. numpy, onnxruntime and Pillow only.
"""

from labelwatch.model.calibration import Calibration, expected_calibration_error, fit_temperature
from labelwatch.model.classifier import LogisticRegression
from labelwatch.model.dataset import (
    IMAGE_SUFFIXES,
    MIN_IMAGES_PER_LABEL,
    Dataset,
    DatasetError,
    LabeledImage,
    load_dataset,
    split,
)
from labelwatch.model.features import (
    FEATURE_DIM,
    FeatureExtractor,
    ImageDecodeError,
    extract,
    preprocess,
    shared_extractor,
)
from labelwatch.model.metrics import Evaluation, LabelMetrics, assumed_threshold, evaluate, format_report
from labelwatch.model.predictor import LoadedModel, Prediction
from labelwatch.model.quality import MIN_MACRO_F1, MIN_TEST_IMAGES_PER_LABEL, Quality, assess
from labelwatch.model.store import (
    ARN_PATTERN,
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    STATUSES,
    ModelNotFound,
    ModelStore,
    ModelStoreError,
    VersionInfo,
    check_name,
    default_version_name,
)
from labelwatch.model.training import TrainingResult, train

__all__ = [
    "ARN_PATTERN",
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "FEATURE_DIM",
    "IMAGE_SUFFIXES",
    "MIN_IMAGES_PER_LABEL",
    "MIN_MACRO_F1",
    "MIN_TEST_IMAGES_PER_LABEL",
    "STATUSES",
    "Calibration",
    "Dataset",
    "DatasetError",
    "Evaluation",
    "FeatureExtractor",
    "ImageDecodeError",
    "LabelMetrics",
    "LabeledImage",
    "LoadedModel",
    "LogisticRegression",
    "ModelNotFound",
    "ModelStore",
    "ModelStoreError",
    "Prediction",
    "Quality",
    "TrainingResult",
    "VersionInfo",
    "assess",
    "assumed_threshold",
    "check_name",
    "default_version_name",
    "evaluate",
    "expected_calibration_error",
    "extract",
    "fit_temperature",
    "format_report",
    "load_dataset",
    "preprocess",
    "shared_extractor",
    "split",
    "train",
]
