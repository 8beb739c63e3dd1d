// Where sounds start in a stream of samples, block by block (the sync marks' voice side,
// room/sound_starts_worklet.js): a sample above `level` after at least `quiet` samples below it.
// A sound already there when listening starts is not one.

export class SoundOnsets {
  constructor(level, quiet) {
    this.level = level;
    this.quiet = quiet;
    this.below = 0;
  }

  /** The indexes in `block` (the next samples of the stream) where a sound starts. */
  push(block) {
    const starts = [];
    for (let i = 0; i < block.length; i++) {
      if (Math.abs(block[i]) > this.level) {
        if (this.below >= this.quiet) starts.push(i);
        this.below = 0;
      } else {
        this.below += 1;
      }
    }
    return starts;
  }
}
