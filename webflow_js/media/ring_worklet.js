// AudioWorklet side of the microphone (audio.js): mixes the input to mono (the mean of its
// channels), collects 128-sample render quanta into a block and posts each full block to the
// main thread through the port (audio.js keeps the ring of recent seconds). Without
// cross-origin isolation there is no SharedArrayBuffer, so a posted copy is the hand-over; a
// block is a few milliseconds of audio.
// Each message: {samples: Float32Array, frame: stream index of samples[0], channels}.

class RingProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const block = options?.processorOptions?.blockSize ?? 512;
    this.block = new Float32Array(block);
    this.fill = 0;
    this.frame = 0; // samples seen since the node started
    this.running = true;
    this.port.onmessage = (e) => {
      if (e.data === "stop") this.running = false;
    };
  }

  process(inputs) {
    const channels = inputs[0];
    const n = channels.length ? channels[0].length : 128; // no input yet: silence, keep time
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let c = 0; c < channels.length; c++) v += channels[c][i];
      this.block[this.fill++] = channels.length ? v / channels.length : 0;
      if (this.fill === this.block.length) {
        this.port.postMessage({ samples: this.block.slice(), frame: this.frame + i + 1 - this.block.length, channels: channels.length });
        this.fill = 0;
      }
    }
    this.frame += n;
    return this.running;
  }
}

registerProcessor("webflow-ring", RingProcessor);
