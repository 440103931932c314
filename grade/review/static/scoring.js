"use strict";
// The rubric's scoring on the review page: the rules of grade/review/marks.py (score_question),
// which a test holds equal to these on the same marks (node).  Each mistake caps the item it
// applies to: item score = max(0, min(marked, item points - ticked deductions on it)); a
// question's score is the sum of its item scores, null while an item is unmarked.
const Scoring = (function () {
  function question(q, values) {
    const ticked = q.mistakes.filter(m => values[m.id] === 1);
    const itemScores = {};
    let earned = 0, marked = true;
    q.items.forEach(i => {
      const cap = i.points - ticked.filter(m => m.applies_to === i.id).reduce((s, m) => s + m.deduction, 0);
      const v = values[i.id];
      if (v === undefined || v === null) { itemScores[i.id] = null; marked = false; return; }
      itemScores[i.id] = Math.max(0, Math.min(v, cap));
      earned += itemScores[i.id];
    });
    return {points: marked ? earned : null, earned, marked, item_scores: itemScores, mistakes: ticked.map(m => m.id)};
  }
  function team(rubric, values) {
    let earned = 0, complete = true;
    const questions = {};
    rubric.questions.forEach(q => {
      const s = questions[q.id] = question(q, values);
      earned += s.earned;
      complete = complete && s.marked;
    });
    return {questions, earned, total: complete ? earned : null, complete};
  }
  return {question, team};
})();
if (typeof module !== "undefined") module.exports = Scoring;
