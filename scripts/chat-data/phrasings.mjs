// The phrasings of every checkable task family, by pool. `train` phrasings appear in the training
// file; `heldout` ones only in the held-out file, so the eval sees questions asked in ways the model
// never saw. Kept apart from the facts so the tests can check the committed files without Debian.
export const PHRASINGS = {
  'capital': {
    train: ['Where is the seat of government of {x}?', "Tell me {x}'s capital.", '{x}: what is its capital?', 'Capital city of {x}, please.', "What's the main city where {x}'s government sits?", 'Which city serves as the capital of {x}?', 'can you name the capital of {x}', 'The capital of {x}?', "I'd like to know: what's the capital of {x}?", 'What city is {x} governed from?',
        'What is the capital of {x}?', "What's the capital city of {x}?", 'Name the capital of {x}.', 'Which city is the capital of {x}?',
        'capital of {x}?', 'Tell me the capital of {x}.', 'Do you know the capital of {x}?', 'What city is the capital of {x}?'],
    heldout: ['I need the capital of {x}.', 'Quick question: capital of {x}?', "Which city is {x}'s capital?", 'The capital of {x} is which city?'],
  },
  'state-capital': {
    train: ['Which city is the seat of government of {x}?', 'Tell me the capital of {x}, the US state.', '{x} (the state): what is its capital?', "What's the capital city of the state of {x}?", 'In the USA, what is the capital of {x}?',
        'What is the capital of the US state of {x}?', 'What is the state capital of {x}?', 'Which city is the capital of {x} state?',
        'Name the capital of the state of {x}.', 'What city is the state capital of {x}?'],
    heldout: ["What's {x}'s state capital?", 'The US state {x} has which capital city?'],
  },
  'state-abbrev': {
    train: ['What two letters abbreviate {x}?', 'Abbreviate the state name {x}.', '{x}: what is its postal code?', "What's the mailing abbreviation of {x}?", 'How do you abbreviate {x} in an address?', 'Postal abbreviation of {x}?',
        'What is the postal abbreviation for {x}?', 'What is the two-letter abbreviation of {x}?', 'How is {x} abbreviated on US mail?',
        "What's the state code for {x}?"],
    heldout: ['Give the USPS code for {x}.', 'Which two letters stand for {x} on an envelope?'],
  },
  'element-symbol': {
    train: ['What letters stand for {x} in chemistry?', 'Symbol of {x}?', 'Tell me the element symbol for {x}.', 'How is {x} written in a chemical formula?', 'What is the atomic symbol of {x}?', '{x}: what is its symbol?',
        'What is the chemical symbol for {x}?', "What's the symbol of {x} on the periodic table?", 'Which symbol stands for {x}?',
        'Give the chemical symbol of {x}.', '{x} has which chemical symbol?'],
    heldout: ['How do chemists write {x} as a symbol?', 'Periodic table symbol for {x}?'],
  },
  'element-name': {
    train: ['What is the element {x}?', 'Tell me which element {x} is.', 'In chemistry, {x} is the symbol of which element?', '{x} is the symbol for what element?', "What's the name of the element with symbol {x}?", 'Element with the symbol {x}?',
        'Which element has the symbol {x}?', 'What element does the symbol {x} stand for?', 'The chemical symbol {x} is which element?',
        'What element is {x} on the periodic table?'],
    heldout: ['Name the element written as {x}.', 'Which element is abbreviated {x}?'],
  },
  'element-number': {
    train: ['Tell me the atomic number of {x}.', 'Atomic number of {x}?', 'How many protons are in the nucleus of {x}?', 'What number does {x} have in the periodic table?', '{x}: what is its atomic number?',
        'What is the atomic number of {x}?', 'How many protons does an atom of {x} have?', "What's {x}'s atomic number?",
        'Give the atomic number of {x}.'],
    heldout: ['{x} is element number what?', 'Where is {x} on the periodic table, by atomic number?'],
  },
  'collective': {
    train: ['Tell me the collective noun for {x}.', 'Collective noun for {x}?', 'A bunch of {x} is called a what?', 'What do we call {x} in a group?', 'What is the name for a group of {x}?',
        'What is a group of {x} called?', 'What do you call a group of {x}?', "What's the collective noun for {x}?",
        'A group of {x} is called a what?', 'What is the word for a group of {x}?'],
    heldout: ['Which collective noun goes with {x}?', 'Many {x} together are called what?'],
  },
  'baby-animal': {
    train: ['Tell me what a baby {x} is called.', 'Baby {x} name?', 'What is the young of a {x} called?', "What's a newborn {x} called?", 'Name for a young {x}?',
        'What is a baby {x} called?', 'What do you call a young {x}?', "What's the name for a baby {x}?", 'A young {x} is called what?'],
    heldout: ['Which word names the young of the {x}?', 'When a {x} is born, what is it called?'],
  },
  'female': {
    train: ['Tell me the female of {x}.', 'What do you call a female {x}?', 'Female equivalent of {x}?', 'What is the feminine word for a {x}?',
        'What is the female counterpart of a {x}?', 'If the male is a {x}, what is the female called?', "What's the female form of {x}?"],
    heldout: ['Which word is the feminine of {x}?'],
  },
  'currency': {
    train: ['Tell me the currency of {x}.', 'Currency of {x}?', 'What do people in {x} pay with?', 'Which money is used in {x}?', "What is {x}'s currency called?",
        'What currency is used in {x}?', 'What is the currency of {x}?', 'What money do they use in {x}?', "What's the official currency of {x}?"],
    heldout: ['Which currency would I pay with in {x}?', 'In {x}, prices are given in what currency?'],
  },
  'language-code': {
    train: ["What is the language with code '{x}'?", "Tell me which language '{x}' is.", "ISO code '{x}': which language?", "'{x}' is the code for what language?",
        "Which language has the ISO 639-1 code '{x}'?", "What language does the code '{x}' stand for?", "The language code '{x}' means which language?"],
    heldout: ["Decode the language code '{x}'."],
  },
  'country-code': {
    train: ['Tell me the country code of {x}.', 'Country code for {x}?', 'What two letters stand for {x} as a country code?', 'What is the ISO code of {x}?', '{x}: what is its two-letter code?',
        'What is the two-letter country code of {x}?', 'What is the ISO 3166 code for {x}?', "What's the country code for {x}?"],
    heldout: ['Which two letters are the ISO code of {x}?'],
  },
  'define': {
    train: ["Tell me what '{x}' means.", 'Meaning of {x}?', "What is meant by '{x}'?", "Can you define '{x}'?",
        "What does '{x}' mean?", 'Define {x}.', "What is the meaning of the word '{x}'?", "Give me a definition of '{x}'.", 'What does the word {x} mean?'],
    heldout: ["Explain the word '{x}'.", "I don't know the word '{x}'. What does it mean?"],
  },
  'synonym': {
    train: ["Tell me a synonym of '{x}'.", 'Synonym for {x}?', "What word can I use instead of '{x}'?", 'Another way to say {x}?', "What means the same thing as '{x}'?",
        "What is a synonym for '{x}'?", 'Give me another word for {x}.', "Which word means the same as '{x}'?", "What's a synonym of {x}?"],
    heldout: ["Name a word with the same meaning as '{x}'."],
  },
  'antonym': {
    train: ["Tell me the antonym of '{x}'.", 'Antonym of {x}?', "What is the contrary of '{x}'?", "What's the word for the opposite of {x}?", 'Opposite of {x}?',
        "What is the opposite of '{x}'?", "What's an antonym of {x}?", 'Give the opposite of {x}.', "What word means the opposite of '{x}'?"],
    heldout: ["Which word means the reverse of '{x}'?", '{x} is the opposite of what?'],
  },
  'hypernym': {
    train: ['Tell me what kind of thing {ax} is.', 'What general type of thing is {ax}?', '{ax} belongs to which category?', 'What sort of thing is {ax}?',
        'What kind of thing is {ax}?', '{ax} is a type of what?', "What category does '{x}' belong to?", 'What is {ax} a kind of?'],
    heldout: ["'{x}' is a kind of what?", 'Which broader class includes {ax}?'],
  },
  'plural': {
    train: ["Tell me the plural of '{x}'.", 'Plural of {x}?', "What do you call two or more of '{x}'?", "Make '{x}' plural.", 'What is {x} in the plural?',
        "What is the plural of '{x}'?", "What's the plural form of {x}?", 'One {x}, two what?', 'How do you write {x} in the plural?'],
    heldout: ['More than one {x} is called what?'],
  },
  'singular': {
    train: ["Tell me the singular of '{x}'.", 'Singular of {x}?', 'What is just one of the {x} called?', "What's '{x}' in the singular?",
        "What is the singular of '{x}'?", "What's the singular form of {x}?", 'One of several {x} is called a what?'],
    heldout: ["Make '{x}' singular."],
  },
  'reverse': {
    train: ["Tell me '{x}' spelled backwards.", "'{x}' backwards?", "Spell the word '{x}' in reverse order.", "Reverse '{x}'.", 'What is {x} spelled back to front?', "Flip the letters of '{x}'.",
        "Spell '{x}' backwards.", 'Write the word {x} in reverse.', "What is '{x}' reversed?", "Reverse the word '{x}'.", 'Spell {x} backwards.'],
    heldout: ["Write the letters of '{x}' from last to first.", "Read '{x}' from right to left."],
  },
  'count-letters': {
    train: ["Tell me how many letters '{x}' has.", "Number of letters in '{x}'?", "How many letters long is '{x}'?", "Count how many letters '{x}' has.", "What is the length of the word '{x}'?",
        "How many letters are in the word '{x}'?", "How many letters does '{x}' have?", "Count the letters in '{x}'.", 'How long is the word {x}, in letters?'],
    heldout: ["What is the letter count of '{x}'?", "'{x}' is how many letters long?"],
  },
  'count-char': {
    train: ["Tell me how many '{c}' there are in '{x}'.", "Number of '{c}' in '{x}'?", "How many times is '{c}' in the word '{x}'?", "Count the {c}'s in {x}.",
        "How many times does the letter '{c}' appear in '{x}'?", "How many {c}'s are in the word '{x}'?", "Count the letter '{c}' in '{x}'.",
        "How often does '{c}' occur in '{x}'?"],
    heldout: ["In the word '{x}', how many '{c}' letters are there?"],
  },
  'arithmetic:+': {
    train: ['Tell me {a} + {b}.', '{a} plus {b}?', 'How much is {a} + {b}?', 'What is {a} added to {b}?', 'Please add {a} and {b}.', '{a}+{b}',
        'What is {a} + {b}?', 'What is {a} plus {b}?', 'Calculate {a} + {b}.', '{a} + {b} = ?', 'Add {a} and {b}.', 'What do you get if you add {a} and {b}?'],
    heldout: ['Compute the sum of {a} and {b}.', 'Work out {a} + {b}, please.'],
  },
  'arithmetic:-': {
    train: ['Tell me {a} - {b}.', '{a} minus {b}?', 'How much is {a} - {b}?', 'What do you get if you subtract {b} from {a}?', '{a}-{b}',
        'What is {a} - {b}?', 'What is {a} minus {b}?', 'Calculate {a} - {b}.', '{a} - {b} = ?', 'Subtract {b} from {a}.'],
    heldout: ['Take {b} away from {a}. What is left?', 'What is the difference between {a} and {b}?'],
  },
  'arithmetic:*': {
    train: ['Tell me {a} * {b}.', '{a} times {b}?', 'How much is {a} times {b}?', 'What do you get if you multiply {a} by {b}?', '{a}*{b}', 'What is {a} x {b}?',
        'What is {a} * {b}?', 'What is {a} times {b}?', 'Calculate {a} x {b}.', '{a} * {b} = ?', 'Multiply {a} by {b}.'],
    heldout: ['What is the product of {a} and {b}?', 'Work out {a} multiplied by {b}.'],
  },
  'compare:up': {
    train: ['Tell me the bigger number: {a} or {b}.', '{a} or {b}: which is bigger?', 'Which is the larger number, {a} or {b}?', 'Pick the greater of {a} and {b}.', 'Of {a} and {b}, which is more?', 'Which number is largest, {a} or {b}?',
        'Which is larger, {a} or {b}?', 'Which number is bigger: {a} or {b}?', 'What is the maximum of {a} and {b}?', 'Which is greater, {a} or {b}?'],
    heldout: ['Out of {a} and {b}, which one is higher?'],
  },
  'compare:down': {
    train: ['Tell me the smaller number: {a} or {b}.', '{a} or {b}: which is smaller?', 'Which is the smaller number, {a} or {b}?', 'Pick the lower of {a} and {b}.', 'Of {a} and {b}, which is less?', 'Which number is smallest, {a} or {b}?',
        'Which is smaller, {a} or {b}?', 'Which number is less: {a} or {b}?', 'What is the minimum of {a} and {b}?', 'Which is lower, {a} or {b}?'],
    heldout: ['Out of {a} and {b}, which one is lesser?'],
  },
  'sort:up': {
    train: ['Sort in ascending order: {list}', 'Please sort {list} from low to high.', 'Sort {list}, smallest first.', 'Order these from smallest to biggest: {list}',
        'Sort these numbers from smallest to largest: {list}', 'Put {list} in ascending order.', 'Order from low to high: {list}'],
    heldout: ['Arrange {list} so the smallest comes first.'],
  },
  'sort:down': {
    train: ['Sort in descending order: {list}', 'Please sort {list} from high to low.', 'Sort {list}, largest first.', 'Order these from biggest to smallest: {list}',
        'Sort these numbers from largest to smallest: {list}', 'Put {list} in descending order.', 'Order from high to low: {list}'],
    heldout: ['Arrange {list} so the biggest comes first.'],
  },
  // Yes/no questions answered with a sentence (a system prompt can make it one word).
  'yes-no:capital': {
    train: ['{c} is the capital of {x}, right?', 'Is it true that {c} is the capital of {x}?', 'True or false: {c} is the capital of {x}.',
        'Is {c} the capital of {x}?', 'Is the capital of {x} {c}?', 'Is {c} the capital city of {x}?'],
    heldout: ['Would I be right to say {c} is the capital of {x}?'],
  },
  'yes-no:element': {
    train: ['{s} is the symbol for {x}, right?', 'Is it true that the symbol of {x} is {s}?', 'True or false: {s} is the chemical symbol of {x}.',
        'Is {s} the chemical symbol for {x}?', 'Is the symbol for {x} {s}?'],
    heldout: ['Does {s} stand for {x} on the periodic table?'],
  },
  // System prompts that change the answer, and neutral ones that do not.
  'system:yes-no': {
    train: ['Answer with yes or no only.', 'Reply with just yes or no.', 'Answer in one word.'],
    heldout: ['Only say yes or no, nothing else.'],
  },
  'system:words': {
    train: ['Write numbers as words.', 'Spell out every number in words.', 'Never use digits; write numbers in words.'],
    heldout: ['Use words, not digits, for numbers.'],
  },
  'system:backwards': {
    train: ['Spell every answer backwards.', 'Write each answer with its letters reversed.'],
    heldout: ['Reverse the letters of your answers.'],
  },
  'system:neutral': {
    train: ['You are a helpful assistant.', 'You are a friendly assistant. Keep answers short.', 'You are a concise and accurate assistant.', 'Be helpful.'],
    heldout: ['You are an AI model that answers questions.', 'Assistant mode: help the user.'],
  },
  // Second turns that lean on the first.
  'followup': {
    train: ['What about for {y}?', 'And {y}, then?', 'Okay, and {y}?', 'Now {y}?',
        'And {y}?', 'What about {y}?', 'And for {y}?', 'How about {y}?'],
    heldout: ['Same question for {y}.', 'Now do {y}.'],
  },
  'chain:*': {
    train: ['Now multiply that by {c}.', 'Multiply the result by {c}.', 'Times {c}?'],
    heldout: ['Take that and multiply it by {c}.'],
  },
  'chain:+': {
    train: ['Now add {c} to that.', 'Add {c} to the result.', 'Plus {c}?'],
    heldout: ['Increase that by {c}.'],
  },
  'chain:reverse': {
    train: ['Spell that backwards.', 'Now write that in reverse.', 'Reverse it.'],
    heldout: ['And backwards?'],
  },
};

/** Small talk: intent → phrasings and the one reply. Open-ended (not checked by exact match). */
export const SMALL_TALK = [
  { reply: 'Hello! How can I help you today?', train: ['Hi!', 'Hello!', 'Hello there.', 'Hey', 'Good morning!', 'hi', 'Hey there!'], heldout: ['Yo!', 'Greetings.'] },
  { reply: 'I am a small AI assistant trained with llmforge. I can answer simple questions.',
    train: ['Who are you?', 'What are you?', 'Are you a person?', 'What is your name?', 'Are you human?'], heldout: ['Who am I talking to?'] },
  { reply: "You're welcome!", train: ['Thanks!', 'Thank you.', 'Thanks a lot, that helped.', 'thank you so much'], heldout: ['Much appreciated.'] },
  { reply: 'Goodbye! Have a nice day.', train: ['Bye!', 'Goodbye.', 'See you later.', 'bye'], heldout: ['Catch you later.'] },
  { reply: 'I can answer simple questions about words, countries, science and arithmetic.',
    train: ['What can you do?', 'How can you help me?', 'What are you good at?', 'What do you know?'], heldout: ['What kind of questions can you answer?'] },
  { reply: "I'm doing well, thanks for asking. How can I help?", train: ['How are you?', "How's it going?", 'How are you doing?'], heldout: ['How are things with you today?'] },
];

/** The pools of a task family: its own name, or names that start with it and a colon. */
export function poolsOf(task) {
  return Object.keys(PHRASINGS).filter((k) => k === task || k.startsWith(`${task}:`));
}
