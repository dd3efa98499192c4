"""Layers, activations and losses with explicit forward/backward (see ``module.py`` for the contract)."""
from . import init
from .module import Flatten, Module, Parameter, Sequential
from .linear import Linear
from .activations import ELU, LeakyReLU, Maxout, PReLU, ReLU, Sigmoid, Softmax, Step, Tanh
from .losses import BCELoss, CrossEntropyLoss, HingeLoss, L1Loss, Loss, MSELoss
from .dropout import Dropout
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from .recurrent import (LSTM, RNN, lstm_step_backward, lstm_step_forward, rnn_step_backward,
                        rnn_step_forward)
from .conv import Conv2d, ConvTranspose2d
from .pool import AvgPool2d, MaxPool2d
from .upsample import Upsample, interpolation_matrix
from . import naive, shapes
from .shapes import (conv_output_size, conv_parameter_count, fc_network_parameter_count, linear_parameter_count,
                     parameter_count, pool_output_size)
from .blocks import (Concat, DepthwiseSeparableConv, GlobalAvgPool2d, InceptionBlock, ResidualBlock,
                     conv_bn_relu)
