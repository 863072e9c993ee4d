// The GL state the backend sets, remembered so a draw only issues the calls that change
// something. On a real GPU a small model is bound by per-draw driver work (every gl call is a
// command the browser validates and forwards to its GPU process), not by arithmetic.
// Everything in webflow_js/webgl that binds a program, framebuffer or texture goes through here,
// so the remembered state is the real one.

export class GLState {
  constructor(gl) {
    this.gl = gl;
    this.program = null;
    this.framebuffer = null;
    this.size = [0, 0];
    this.active = 0; // gl.activeTexture, as a unit number
    this.units = new Map([[gl.TEXTURE_2D, []], [gl.TEXTURE_2D_ARRAY, []]]); // target -> (unit -> texture bound there)
  }

  useProgram(p) {
    if (this.program !== p) this.gl.useProgram(p.program);
    this.program = p;
  }

  bindFramebuffer(fb) {
    if (this.framebuffer !== fb) this.gl.bindFramebuffer(this.gl.FRAMEBUFFER, fb);
    this.framebuffer = fb;
  }

  viewport(width, height) {
    if (this.size[0] !== width || this.size[1] !== height) this.gl.viewport(0, 0, width, height);
    this.size = [width, height];
  }

  bindTexture(unit, tex, target = this.gl.TEXTURE_2D) {
    const units = this.units.get(target);
    if (units[unit] === tex) return;
    const gl = this.gl;
    if (this.active !== unit) gl.activeTexture(gl.TEXTURE0 + unit);
    this.active = unit;
    gl.bindTexture(target, tex);
    units[unit] = tex;
  }

  // Bind `tex` to change it (upload, create), on whichever unit is active.
  edit(tex, target) {
    this.bindTexture(this.active, tex, target);
  }

  // A texture about to be rendered into must not sit on a sampler unit: that is a feedback loop,
  // and the draw silently does nothing.
  release(tex) {
    for (const [target, units] of this.units) {
      units.forEach((t, unit) => {
        if (t === tex) this.bindTexture(unit, null, target);
      });
    }
  }

  // Set a uniform unless the program already holds that value (`key` identifies the value).
  uniform(p, fn, loc, value, key) {
    if (p.values.get(loc) === key) return;
    this.gl[fn](loc, value);
    p.values.set(loc, key);
  }
}
