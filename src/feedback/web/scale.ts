// The 9-point preference scale of Stiennon et al. (2020): 1 = A much better … 5 = equal … 9 = B much
// better, A being the left (or first) completion as shown.

export const SCALE: readonly { value: number; label: string }[] = [
  { value: 1, label: 'A much better' },
  { value: 2, label: 'A better' },
  { value: 3, label: 'A slightly better' },
  { value: 4, label: 'A barely better' },
  { value: 5, label: 'Equal' },
  { value: 6, label: 'B barely better' },
  { value: 7, label: 'B slightly better' },
  { value: 8, label: 'B better' },
  { value: 9, label: 'B much better' },
];

/** Display name of the i-th shown completion: A, B, C, … */
export const letter = (i: number) => String.fromCharCode(65 + i);

/** Ratings on the optional axes run from 1 to 7. */
export const AXIS_VALUES = [1, 2, 3, 4, 5, 6, 7];
