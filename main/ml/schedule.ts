/**
 * The seed's schedules, as TensorFlow 1 computes them.
 */

/**
 * tf.train.exponential_decay with staircase=True:
 *   lr = base * decay ^ floor(step / decaySteps)
 * The seed uses decaySteps = training examples / batch size, i.e. one decay per epoch.
 */
export function learningRateAt(step: number, base: number, decay: number, decaySteps: number): number {
  return base * Math.pow(decay, Math.floor(step / decaySteps));
}

/**
 * tf.train.ExponentialMovingAverage(decay, num_updates): the decay actually applied on an
 * update is min(decay, (1 + num_updates) / (10 + num_updates)), so the average follows the
 * weights closely early in training and settles to `decay` later.
 */
export function movingAverageDecayAt(numUpdates: number, decay: number): number {
  return Math.min(decay, (1 + numUpdates) / (10 + numUpdates));
}
