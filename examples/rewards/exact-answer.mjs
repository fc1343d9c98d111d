// A reward written as code: 1 when a completion gives the row's exact answer, else 0.
//
// Made for the adder (examples/adder): a prompt "3 8 + 7 5 =" is answered " 1 1 3". The completion's
// answer is its text up to the end-of-text token or the first newline; it and the row's `answer` field
// are compared after whitespace is normalized (runs of spaces and tabs as one space, ends trimmed).
//
// Each prompt record carries its answer, which the reward receives as the `answer` column:
//   {"prompt": "3 8 + 7 5 =", "answer": "1 1 3"}
//   rlhf train ppo --init sft --prompts prompts.jsonl --reward examples/rewards/exact-answer.mjs --out run
// Copy it and change `answerOf` or `normalize` for another task's format.

const END_OF_TEXT = '<|endoftext|>';

/** The part of a completion that is its answer: up to the end-of-text token or the first newline. */
function answerOf(completion) {
  return completion.split(END_OF_TEXT)[0].split('\n')[0];
}

function normalize(text) {
  return String(text).replace(/\s+/g, ' ').trim();
}

/** ({ prompts, completions, answer }) → one score per completion: 1 for the exact answer, else 0. */
export default function exactAnswer({ prompts, completions, answer }) {
  return completions.map((completion, i) => {
    if (answer?.[i] === undefined || answer[i] === null)
      throw new Error(
        `exact-answer: the record of prompt ${JSON.stringify(prompts[i])} has no "answer" field; give ` +
          'prompt records like {"prompt": "3 8 + 7 5 =", "answer": "1 1 3"}',
      );
    return normalize(answerOf(completion)) === normalize(answer[i]) ? 1 : 0;
  });
}
