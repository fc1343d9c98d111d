// The error a record parser throws; readers add the file and line. Kept free of Node imports so
// record schemas can also run in a browser (the labeling app).

export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
