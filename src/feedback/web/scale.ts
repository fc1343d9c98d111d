// The 9-point preference scale of Stiennon et al. (2020): 1 = A much better … 5 = equal … 9 = B much
// better, A being the left (or first) completion as shown; and the 1–7 rating of one completion.

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

/** The 1–7 Likert scale of a single-output task; 4, the midpoint, is neither (the KTO export drops it). */
export const LIKERT: readonly { value: number; label: string }[] = [
  { value: 1, label: 'Very bad' },
  { value: 2, label: 'Bad' },
  { value: 3, label: 'Somewhat bad' },
  { value: 4, label: 'Neither good nor bad' },
  { value: 5, label: 'Somewhat good' },
  { value: 6, label: 'Good' },
  { value: 7, label: 'Very good' },
];
