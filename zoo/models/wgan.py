"""WGAN (Arjovsky et al. 2017): a weight-clipped critic estimates the Wasserstein-1 distance.

The reference code trains the critic n_critic = 5 times per generator step, and 100 times for the first
25 generator steps and every 500th. A generator update inside tf.cond cannot run under MirroredStrategy
(an optimizer's cross-replica sync inside control flow fails), so the schedule is kept in Python: one
fit() step is one critic step, and the model compiles two step functions, critic only and critic then
generator, choosing one per step from the two optimizers' counters. Each critic step reads its own real
batch, as in the reference code; an epoch is a pass over the data in critic batches.
"""

from keras import ops

from zoo import losses
from zoo.models.gan import GAN

WARMUP_GENERATOR_STEPS = 25
WARMUP_EVERY = 500
WARMUP_CRITIC_STEPS = 100
CRITIC_SCHEDULES = ("reference", "constant")


def critic_steps_before_generator_step(step, n_critic, critic_schedule):
    """Critic steps that must be done before generator step number `step` (0-based) runs."""
    total = n_critic * (step + 1)
    if critic_schedule == "reference":
        warmup_steps = min(step + 1, WARMUP_GENERATOR_STEPS) + step // WARMUP_EVERY
        total += (WARMUP_CRITIC_STEPS - n_critic) * warmup_steps
    return total


def generator_steps_after(critic_steps, n_critic, critic_schedule):
    """How many generator steps `critic_steps` critic steps (train steps) take along the critic schedule."""
    low, high = 0, critic_steps  # the answer lies in [low, high]: every generator step needs a critic step
    while low < high:
        middle = (low + high + 1) // 2
        if critic_steps_before_generator_step(middle - 1, n_critic, critic_schedule) <= critic_steps:
            low = middle
        else:
            high = middle - 1
    return low


class WGAN(GAN):
    def __init__(self, generator, critic, latent_dim, n_critic=5, clip_value=0.01,
                 critic_schedule="reference", **kwargs):
        super().__init__(generator, critic, latent_dim, d_steps=1, **kwargs,
                         loss_pair=(losses.wasserstein_discriminator_loss, losses.wasserstein_generator_loss))
        self.n_critic = n_critic
        self.critic_schedule = critic_schedule
        if clip_value:
            def clip(weight):
                return ops.clip(weight, -clip_value, clip_value)

            for weight in critic.trainable_variables:
                weight.assign(clip(weight))
                # Keras optimizers apply a variable's constraint right after each update, on every replica.
                weight.constraint = clip

    def generator_step_due(self):
        """Whether the critic step about to run is the last one before the next generator step."""
        critic_steps = int(self.d_optimizer.iterations.numpy()) + 1
        return critic_steps >= critic_steps_before_generator_step(self.steps_trained, self.n_critic,
                                                                  self.critic_schedule)

    def critic_step(self, data):
        real, labels = data
        self.discriminator_step(real, labels, draw=0)
        return self.results()

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        if self.steps_per_execution != 1:
            raise ValueError(f"{type(self).__name__} picks critic or generator steps one step at a time: "
                             "compile it with steps_per_execution=1")
        # _make_function is Keras' own builder of the distributed step function (keras is pinned).
        critic_only, critic_then_generator = (self._make_function(step)
                                              for step in (self.critic_step, self.train_step))

        def train_function(iterator):
            step = critic_then_generator if self.generator_step_due() else critic_only
            return step(iterator)

        self.train_function = train_function
        return train_function
