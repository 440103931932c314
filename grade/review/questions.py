"""The questions of part 1 (theory) of problem set 1: ids, titles and statements.

Teams repeat each statement before their answer; :mod:`grade.review.locate` strips the
repeated statement by comparing word pairs with these texts, so only their words matter.
"""

from .rubric import QUESTION_IDS as QUESTIONS  # noqa: F401 -- the ones answered and marked (theory/rubric.py)

TITLES = {
    "1.1": "Optimization",
    "1.2": "Activation functions",
    "1.3": "Overfitting",
    "1.3.1": "Error rate versus dataset size",
    "1.3.2": "Error rate versus model complexity",
    "1.3.3": "Training epochs",
    "1.4": "Capacity of neural network",
    "1.5": "Neural network theory",
}

_OVERFITTING = """This question will test your general understanding of overfitting as it relates to
model complexity and training set size. Consider a continuous domain and a smooth joint
distribution over inputs and outputs, so that no test or training case is ever duplicated
exactly. The graphs in your solutions should be drawn on paper and then included as a picture.
In your answers describe how your graphs should be read."""

STATEMENTS = {
    "1.1": """Let f : R2 -> R be defined by f(x, y) = x2y + xy2 - 6xy. Identify and classify all
critical points of f.""",
    "1.2": """Compute the gradient of the function f(b, w) = ReLU(b + xw) = 0 if b + xw < 0,
b + xw if b + xw >= 0. (1) with respect to the parameters b and w, where x, b, w in R.""",
    "1.3": _OVERFITTING,
    "1.3.1": """Sketch a graph of the typical behavior of training error rate (y-axis) as a function
of training set size (x-axis). Add to this graph a curve showing the typical behavior of test
error rate versus training set size, on the same axes. (Assume that we have an infinite test
set drawn independently from the same joint distribution as the training set). Indicate on your
y-axis where zero error is and draw your graphs with increasing error upwards and increasing
training set size rightwards.""",
    "1.3.2": """For a fixed training set size, sketch a graph of the typical behavior of training
error rate (y-axis) versus model complexity (x-axis). Add to this graph a curve showing the
typical behavior of the corresponding test error rate versus model complexity, on the same axes
(again on an IID infinite test set). Show where on the x-axis you think is the most complex
model that your data supports (mark this with a vertical line). Choose the x-range so that this
line is neither on the extreme left nor on the extreme right. Indicate on your vertical axis
where zero error is and draw your graphs with increasing error upwards and increasing
complexity rightwards.""",
    "1.3.3": """Use a similar graph to illustrate the error rate as a function of training epochs in
neural networks. One of the commonly used regularization methods in neural networks is early
stopping. Describe (also using the graph) how early stopping is applied, and argue
qualitatively why (or why not) early stopping is a reasonable regularization metric.""",
    "1.4": """We have a single hidden-layer neural network with two hidden units, and data with 2
features X = (x1, x2). Design an activation function g(.) applied in the hidden layer, and an
output activation function o(.) applied in the output layer, as well as a set of values of the
weights that will create a logistic regression model where the input to the logistic function
is of the form: β0 + β1 x1 x2.""",
    "1.5": """Derive the weight updates in gradient descent for a neural network with 2 hidden layers
(superscripts [1] and [2]) that each have H[1] and H[2] hidden units respectively. The output
layer has superscript [3], and we want to classify the data into K classes. The output of the
network for classes k = 1, 2, ..., K and one data point x in Rd can be written as such:
fk(θ; X) = o(ak[3]) = o(bk[3] + sum wkm[3] hm[2]) (2) hm[2] = σ(am[2]) = σ(bm[2] +
sum wmi[2] hi[1]) (3) hi[1] = σ(ai[1]) = σ(bi[1] + sum wij[1] xj), (4) where θ
indicates the vector of all weights and biases. While this is typically not recommended, in
this exercise we use a quadratic loss function for classification. We use a softmax activation
function at the output layer and a ReLU activation function at the hidden layers. Derive the
weight update for the weights of the first hidden layer wij[1]. Start by stating the gradient
descent weight update for the (r+1)th iteration as a function of the (r)th iteration, and then
compute the partial derivative needed in the update. Show all the steps in your derivation. You
may use the derivatives for activation functions introduced in class. There is no need to show
the derivations of those.""",
}

# The parts that follow part 1 in a team's PDF: a heading matching one of these ends 1.5.
END_HEADINGS = r"(?:2|II)\.?\s+(?:Neural network implementation|Practical|Implementation|Programming)\b.*" \
               r"|(?:References|Bibliography|Sources|Literature|Appendix)\s*:?"
