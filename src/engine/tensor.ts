// Float32 tensors over typed arrays. A Tensor is data + shape; gradients live beside it.

export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class Tensor {
  /** Gradient of the loss with respect to this tensor, once backward has reached it. */
  grad: Float32Array | null = null;
  /**
   * Bumped by writes to the data that copies of it must notice (an optimizer step, copyFrom): the decode
   * weights (engine/decode-weights.ts) compare it.
   */
  version = 0;

  constructor(
    public data: Float32Array,
    public shape: Shape,
    /** True when gradients must flow to this tensor (parameters, and anything computed from them). */
    public requiresGrad = false,
  ) {
    if (data.length !== shapeSize(shape)) {
      throw new Error(
        `Tensor: data has ${data.length} elements but shape [${shape.join(', ')}] needs ${shapeSize(shape)}`,
      );
    }
  }

  get size(): number {
    return this.data.length;
  }

  /** The single value of a one-element tensor (a loss). */
  item(): number {
    if (this.data.length !== 1)
      throw new Error(`item() needs a one-element tensor, got shape [${this.shape.join(', ')}]`);
    return this.data[0];
  }

  static zeros(shape: Shape, requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)), shape, requiresGrad);
  }

  static from(values: ArrayLike<number>, shape?: Shape, requiresGrad = false): Tensor {
    return new Tensor(Float32Array.from(values), shape ?? [values.length], requiresGrad);
  }
}

/**
 * A trainable tensor with a stable name (the checkpoint key) and a persistent gradient buffer. The
 * buffer is made when first needed (zeroGrad, or a backward pass that reaches the parameter), so a
 * frozen parameter (requiresGrad false: a LoRA base, a reference policy) or a model only sampled from
 * never holds one: at 0.5B parameters that is 2 GB.
 */
export class Parameter extends Tensor {
  constructor(
    public readonly name: string,
    data: Float32Array,
    shape: Shape,
  ) {
    super(data, shape, true);
  }

  /** Zeroes the gradient (making its buffer on first use); a frozen parameter has none. */
  zeroGrad(): void {
    if (this.grad) this.grad.fill(0);
    else if (this.requiresGrad) this.grad = new Float32Array(this.size);
  }

  /** No gradients from now on, and the gradient buffer released; `requiresGrad = true` undoes it. */
  freeze(): void {
    this.requiresGrad = false;
    this.grad = null;
  }
}

/** Throws a shape error naming the op and both shapes. */
export function assertShape(op: string, what: string, got: Shape, want: Shape): void {
  if (got.length !== want.length || got.some((d, i) => want[i] >= 0 && d !== want[i])) {
    throw new Error(
      `${op}: ${what} has shape [${got.join(', ')}], expected [${want.map((d) => (d < 0 ? '*' : d)).join(', ')}]`,
    );
  }
}
