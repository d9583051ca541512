"""The variant registry: every variant's options, defaults from the papers, and how to build it.

One place for defaults and their allowed values (the StudioGAN config pattern); the training CLI turns
these options into flags and rejects options that do not apply to the chosen variant.
"""

from dataclasses import dataclass
from typing import Callable

import keras

from zoo.divergences import DIVERGENCES
from zoo.models.base import AdversarialModel, DataSpec, UnsuitableDataError
from zoo.models.cgan import ConditionalGAN
from zoo.models.cyclegan import ConstantThenLinearDecay, CycleGAN
from zoo.models.fgan import FGAN
from zoo.models.gan import GAN, LOSSES as GAN_LOSSES
from zoo.models.wgan import CRITIC_SCHEDULES, WGAN, generator_steps_after
from zoo.models.wgan_gp import WGANGP
from zoo.nets import dcgan_discriminator, dcgan_generator, patchgan_discriminator, resnet_generator
from zoo.nets.mlp import MLP_ARCHITECTURES, mlp_nets


@dataclass(frozen=True)
class Option:
    default: object
    help: str
    choices: tuple = ()
    positive: bool = False
    non_negative: bool = False
    type: type = None  # of the value; default: the type of `default`

    @property
    def value_type(self):
        return self.type or type(self.default)


@dataclass(frozen=True)
class Variant:
    """What training needs to know of a variant, so that nothing outside zoo/models asks for its name."""
    summary: str
    options: dict
    build: Callable  # (config, DataSpec) -> compiled AdversarialModel
    #: it picks each step (critic or generator) in Python, one fit() step at a time: steps_per_execution 1
    steps_chosen_in_python: bool = False
    #: (learning_rate, total_steps) -> the schedule its rate always follows (see learning_rate_schedule)
    learning_rate_schedule: Callable | None = None
    #: (config, train steps) -> how many generator steps they take
    generator_steps: Callable = lambda config, train_steps: train_steps


def learning_rate_schedule(config):
    """The schedule `config`'s learning rate follows, (learning_rate, total generator steps) -> schedule, fixed
    when the run starts (a resumed run may not change it): CycleGAN's always, the others' with
    --learning-rate-decay; None: a constant rate."""
    schedule = VARIANTS[config["model"]].learning_rate_schedule
    return schedule or (ConstantThenLinearDecay if config.get("learning_rate_decay") else None)


def run_generator_steps(config, spec):
    """The generator steps of a whole run of `config` on data `spec`: what its learning rate's schedule spans."""
    real_batches = config.get("d_steps", 1)  # a gan or cgan train step reads a real batch per discriminator step
    train_steps = config["epochs"] * max(spec.num_examples // (config["batch_size"] * real_batches), 1)
    return VARIANTS[config["model"]].generator_steps(config, train_steps)


def _compile(model, config, g_optimizer, d_optimizer):
    """Compile with the training options: loss scaling for mixed precision, XLA for `jit`."""
    if config["mixed_precision"]:
        g_optimizer, d_optimizer = (keras.optimizers.LossScaleOptimizer(o) for o in (g_optimizer, d_optimizer))
    model.compile(g_optimizer=g_optimizer, d_optimizer=d_optimizer, jit_compile=config["jit"],
                  steps_per_execution=config["steps_per_execution"])
    return model


def _adam(config, learning_rate=None):
    return keras.optimizers.Adam(learning_rate or config["learning_rate"], beta_1=config["beta_1"],
                                 beta_2=config["beta_2"])


def _rmsprop(config, learning_rate=None):
    return keras.optimizers.RMSprop(learning_rate or config["learning_rate"])


def _optimizers(config, spec, optimizer=_adam):
    """The generator's and the discriminator's optimizer: at a constant rate, or with --learning-rate-decay
    both following one schedule over the run's generator steps. The discriminator reads the generator's step
    counter, as WGAN-GP's code decays both players by generator iterations, so that several discriminator
    steps per generator step (wgan, d_steps) keep the two rates equal."""
    schedule = learning_rate_schedule(config)
    if schedule is None:
        return optimizer(config), optimizer(config)
    rate = schedule(config["learning_rate"], run_generator_steps(config, spec))
    g_optimizer = optimizer(config, rate)
    return g_optimizer, optimizer(config, lambda: rate(g_optimizer.iterations))


def noise_nets(config, spec, num_classes=0, norm="batch"):
    """DCGAN nets for images, MLP nets for vectors; conditional on labels when num_classes > 0."""
    if spec.two_domains:
        raise UnsuitableDataError("it samples one distribution; this dataset is two domains (for cyclegan)")
    pack = config.get("pack", 1)  # PacGAN: the discriminator judges packs of this many samples
    class_batchnorm = config.get("generator_conditioning") == "batchnorm"
    auxiliary_classifier = config.get("auxiliary_classifier", 0) > 0
    if class_batchnorm and not spec.is_image:
        raise UnsuitableDataError("--generator-conditioning batchnorm is for the image (DCGAN) nets; "
                                  "on vectors use concat")
    if auxiliary_classifier and pack > 1:  # training's config refuses it first, with the fix
        raise ValueError("an auxiliary classifier needs one sample per discriminator input, not packs")
    if spec.is_image:
        return (dcgan_generator(config["latent_dim"], spec.shape, config["width"], num_classes,
                                class_batchnorm),
                dcgan_discriminator(spec.shape, config["width"], norm, num_classes, pack=pack,
                                    auxiliary_classifier=auxiliary_classifier))
    return mlp_nets(config["mlp"], config["latent_dim"], spec.shape[0], config["width"], num_classes, pack,
                    auxiliary_classifier)


def build_gan(config, spec):
    model = GAN(*noise_nets(config, spec), config["latent_dim"], loss_pair=GAN_LOSSES[config["loss"]],
                d_steps=config["d_steps"],
                reuse_fakes=config["reuse_fakes"], pack=config["pack"], seed=config["seed"], ema=config["ema"])
    return _compile(model, config, *_optimizers(config, spec))


def build_cgan(config, spec):
    if spec.num_classes < 2:
        raise UnsuitableDataError("it needs class labels (fashion_mnist, a toy, or a labelled TFDS dataset)")
    model = ConditionalGAN(*noise_nets(config, spec, spec.num_classes), config["latent_dim"],
                           spec.num_classes, loss_pair=GAN_LOSSES[config["loss"]], d_steps=config["d_steps"],
                           reuse_fakes=config["reuse_fakes"], pack=config["pack"],
                           auxiliary_weight=config["auxiliary_classifier"], seed=config["seed"], ema=config["ema"])
    return _compile(model, config, *_optimizers(config, spec))


def build_fgan(config, spec):
    model = FGAN(*noise_nets(config, spec), config["latent_dim"], divergence=config["divergence"],
                 saddle=config["generator_loss"] == "saddle", reuse_fakes=config["reuse_fakes"],
                 pack=config["pack"],
                 seed=config["seed"], ema=config["ema"])
    return _compile(model, config, *_optimizers(config, spec))


def build_wgan(config, spec):
    model = WGAN(*noise_nets(config, spec), config["latent_dim"], n_critic=config["n_critic"],
                 clip_value=config["clip_value"], critic_schedule=config["critic_schedule"],
                 reuse_fakes=config["reuse_fakes"], seed=config["seed"], ema=config["ema"])
    return _compile(model, config, *_optimizers(config, spec, _rmsprop))


def build_wgan_gp(config, spec):
    model = WGANGP(*noise_nets(config, spec, norm="layer"), config["latent_dim"],
                   n_critic=config["n_critic"], gp_weight=config["gp_weight"], reuse_fakes=config["reuse_fakes"],
                   pack=config["pack"],
                   seed=config["seed"], ema=config["ema"])
    return _compile(model, config, *_optimizers(config, spec))


def _critic_generator_steps(config, train_steps):
    """wgan, wgan_gp: a train step is a critic step; the generator steps after every n_critic-th (wgan's
    reference schedule: fewer)."""
    return generator_steps_after(train_steps, config["n_critic"], config.get("critic_schedule", "constant"))


def build_cyclegan(config, spec):
    if not spec.two_domains:
        raise UnsuitableDataError("it translates between two image domains: pick a pair as --dataset "
                                  "(fashion_mnist:5-7, tfds:cycle_gan/NAME, folders:PATH_A,PATH_B)")
    image_height, image_width = spec.shape[:2]  # not config["width"], the nets' width

    def halves(n):
        return not (image_height % 2**n or image_width % 2**n)

    halvings = config["generator_downsamplings"]
    if not halves(halvings):
        fitting = next(n for n in range(halvings, -1, -1) if halves(n))
        fix = f"--generator-downsamplings {fitting}" if fitting else f"an --image-size divisible by {2**halvings}"
        raise UnsuitableDataError(f"its generators halve the image {halvings} times (--generator-downsamplings), "
                                  f"so height and width must be divisible by {2**halvings}, not "
                                  f"{image_height}x{image_width}: pass {fix}")
    generators = [resnet_generator(spec.shape, config["width"], config["residual_blocks"],
                                   config["generator_downsamplings"], config["generator_skips"],
                                   config["generator_keeps_contrast"], name=name)
                  for name in ("generator_ab", "generator_ba")]
    discriminators = [patchgan_discriminator(spec.shape, config["width"], name=name)
                      for name in ("discriminator_a", "discriminator_b")]
    model = CycleGAN(*generators, *discriminators, spec.shape, cycle_weight=config["cycle_weight"],
                     identity_weight=config["identity_weight"], pool_size=config["pool_size"],
                     seed=config["seed"], ema=config["ema"])
    # both players step every train step, each on its own counter
    schedule = ConstantThenLinearDecay(config["learning_rate"], run_generator_steps(config, spec))
    return _compile(model, config, _adam(config, schedule), _adam(config, schedule))


NOISE = {
    "latent_dim": Option(100, "size of the generator's input z", positive=True),
    "reuse_fakes": Option(False, "the generator step reuses the fakes of the last discriminator step instead "
                          "of fresh noise: one generator forward pass per step instead of two (faster; "
                          "default: fresh noise, as in Goodfellow et al.'s Algorithm 1)"),
    "mlp": Option("plain", "the nets for vector data (toys): plain (--width units, 3 layers) or pacgan (the "
                  "2-D nets of PacGAN, Lin et al. 2018: a batch-normed generator of 4 layers of 2 x --width "
                  "units, a maxout discriminator of 3 layers of --width units; the paper's width is 200)",
                  choices=MLP_ARCHITECTURES),
}


DECAY = {"learning_rate_decay": Option(False, "hold the learning rate for the first half of the epochs, then "
                                     "decay it linearly to 0, both players alike (CycleGAN's schedule; fixed when "
                                     "the run starts)")}


PACK = {"pack": Option(1, "PacGAN (Lin et al. 2018): the discriminator judges packs of this many samples, "
                       "concatenated; the batch (per replica) must be a multiple of it", positive=True)}


def _adam_options(learning_rate, beta_1, beta_2=0.999):
    return {"learning_rate": Option(learning_rate, "Adam learning rate of both players", positive=True),
            "beta_1": Option(beta_1, "Adam beta_1"), "beta_2": Option(beta_2, "Adam beta_2")}


GAN_OPTIONS = {
    **NOISE,
    **PACK,
    "loss": Option("non_saturating", "generator loss", choices=tuple(GAN_LOSSES)),
    "d_steps": Option(1, "discriminator steps per generator step (k), each on a fresh real batch",
                      positive=True),
    # DCGAN's Adam settings (Radford et al. 2016), the usual ones for GANs on these nets.
    **_adam_options(2e-4, 0.5),
    **DECAY,
}

VARIANTS = {
    "gan": Variant("original GAN (Goodfellow et al. 2014)",
                   GAN_OPTIONS, build_gan),
    "cgan": Variant("conditional GAN (Mirza & Osindero 2014) with a projection discriminator", {
        **GAN_OPTIONS,
        "generator_conditioning": Option("concat", "how the generator takes the label: concat (its embedding "
                                         "concatenated to z) or batchnorm (also each class's own scale and "
                                         "offset in every batch norm: conditional batch norm, as Miyato & "
                                         "Koyama's projection cGAN; image nets)", choices=("concat", "batchnorm")),
        "auxiliary_classifier": Option(0.0, "weight of an auxiliary classifier's loss (AC-GAN, Odena et al. 2017: "
                                       "the discriminator also predicts the class of real and fake samples, and "
                                       "the generator is trained to make its fakes of their label's class; the "
                                       "paper's weight is 1); 0: none", non_negative=True),
    }, build_cgan),
    "fgan": Variant("f-GAN (Nowozin et al. 2016): minimise any of nine f-divergences", {
        **NOISE,
        **PACK,
        "divergence": Option("gan", "the f-divergence", choices=tuple(DIVERGENCES)),
        "generator_loss": Option("practical", "practical: -g_f(V(G(z))); saddle: -f*(g_f(V(G(z))))",
                                 choices=("practical", "saddle")),
        **_adam_options(2e-4, 0.5),
        **DECAY,
    }, build_fgan),
    "wgan": Variant("Wasserstein GAN (Arjovsky et al. 2017) with weight clipping", {
        **NOISE,
        "n_critic": Option(5, "critic steps per generator step", positive=True),
        "critic_schedule": Option("reference", "reference: 100 critic steps for the first 25 generator "
                                  "steps and every 500th; constant: always n_critic", choices=CRITIC_SCHEDULES),
        "clip_value": Option(0.01, "critic weights are clipped to [-c, c] after every critic step",
                             positive=True),
        "learning_rate": Option(5e-5, "RMSProp learning rate of both players", positive=True),
        **DECAY,
    }, build_wgan, steps_chosen_in_python=True, generator_steps=_critic_generator_steps),
    "wgan_gp": Variant("WGAN with gradient penalty (Gulrajani et al. 2017), a critic without batch norm "
                       "(layer norm on images)", {
        **NOISE,
        **PACK,
        "n_critic": Option(5, "critic steps per generator step", positive=True),
        "gp_weight": Option(10.0, "lambda, the gradient penalty's weight", positive=True),
        **_adam_options(1e-4, 0.0, 0.9),
        **DECAY,
    }, build_wgan_gp, steps_chosen_in_python=True, generator_steps=_critic_generator_steps),
    "cyclegan": Variant("CycleGAN (Zhu et al. 2017): unpaired image-to-image translation", {
        "dataset": Option("fashion_mnist:5-7", "two image domains: fashion_mnist:A-B (class numbers), "
                          "tfds:cycle_gan/NAME, or folders:PATH_A,PATH_B"),
        "batch_size": Option(16, "global batch size: split across replicas (the paper: 1)", positive=True),
        "cycle_weight": Option(10.0, "weight of the cycle-consistency L1 loss", positive=True),
        "identity_weight": Option(5.0, "weight of the identity L1 loss (0 turns it off)", non_negative=True),
        "pool_size": Option(50, "size of each discriminator's history pool of fakes (0: no pool)",
                            non_negative=True),
        "residual_blocks": Option(6, "residual blocks in each generator", positive=True),
        "generator_downsamplings": Option(2, "times each generator halves the image before its residual blocks "
                                          "(the paper: 2, for 256x256 images)", positive=True),
        "generator_skips": Option(False, "U-Net skip connections in each generator: every upsampling also sees the "
                                  "encoder's features of its size, so detail need not pass the bottleneck"),
        "generator_keeps_contrast": Option(False, "no instance norm on each generator's first layer (the paper "
                                           "has one), which divides out an image's contrast: a faint and a bright "
                                           "garment of one shape then translate and return alike"),
        **_adam_options(2e-4, 0.5),
    }, build_cyclegan, learning_rate_schedule=ConstantThenLinearDecay),
}

__all__ = ["AdversarialModel", "DataSpec", "Option", "UnsuitableDataError", "Variant", "VARIANTS",
           "learning_rate_schedule", "noise_nets", "run_generator_steps"]


def generator_kind(generator):
    """noise: z -> x; conditional: (z, label) -> x; translation: image -> image."""
    names = [x.name for x in generator.inputs]
    return "translation" if names == ["image"] else "conditional" if "label" in names else "noise"


TRANSLATION_DIRECTIONS = {"generator_ab": "A->B", "generator_ba": "B->A"}
