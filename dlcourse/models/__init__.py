"""The model zoo: MLPs and the classic CNNs of seed 6.9, a small U-Net (seed 6.10.2), and ``summary``."""
from .classic import alexnet_small, lenet5, mlp, resnet_small, vgg_small
from .summary import Summary, summary
from .unet import UNet, double_conv, mean_iou
