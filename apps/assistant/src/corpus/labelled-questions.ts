// A labelled question set over the sample corpus (sermons.ts), for measuring excerpt search: each question
// is paraphrased the way a reader would ask it (not copied from a title) and names the sermon(s) that
// answer it; the off-topic questions are answered by none of them and must get no excerpts.

export interface LabelledQuestion {
  readonly question: string;
  /** Titles of the sermons that answer it; empty for an off-topic question. */
  readonly answers: readonly string[];
}

const PATIENCE = 'The Long Road of Patience';
const FORGIVENESS = 'Seventy Times Seven: On Forgiveness';
const PRODIGAL = 'The Father Who Ran: The Prodigal Son';
const HOPE = 'Hope in Hard Times';
const GENEROSITY = 'Open Hands: On Generosity';
const GRATITUDE = 'The Habit of Gratitude';
const SAMARITAN = 'Who Is My Neighbor? The Good Samaritan';
const PRAYER = 'Teach Us to Pray';
const SABBATH = 'Permission to Rest: The Sabbath';
const COMMUNITY = "Bear One Another's Burdens: Community";
const HUMILITY = 'The Lowest Seat: Humility';
const COURAGE = 'Be Strong and Courageous';
const GRIEF = 'Jesus Wept: On Grief';
const MUSTARD = 'Faith the Size of a Mustard Seed';
const SERVING = 'Came Not to Be Served: Serving Others';
const SHEEP = 'The One Who Wandered: The Lost Sheep';
const ANXIETY = 'Consider the Lilies: Anxiety and Peace';
const RUTH = 'Where You Go I Will Go: Faithfulness';
const JONAH = 'A Second Chance: Jonah';
const ZACCHAEUS = 'Come Down, Zacchaeus: Welcome';
const MARTHA = 'Only One Thing Is Needed: Martha and Mary';
const LIGHT = 'A Light on a Hill';

export const ON_TOPIC_QUESTIONS: readonly LabelledQuestion[] = [
  { question: 'Why did the prodigal son come home?', answers: [PRODIGAL] },
  { question: 'What did the father do when his younger son returned?', answers: [PRODIGAL] },
  { question: 'How should I wait for a diagnosis without losing heart?', answers: [PATIENCE] },
  { question: 'What does the farmer watching for rain teach about waiting?', answers: [PATIENCE] },
  { question: 'How many times must I forgive my brother?', answers: [FORGIVENESS] },
  { question: 'Does forgiving someone mean I have to trust them again?', answers: [FORGIVENESS] },
  { question: 'How do I let go of a grudge?', answers: [FORGIVENESS] },
  { question: 'What did Jeremiah tell the exiles to do?', answers: [HOPE] },
  { question: 'Is hope just wishful thinking?', answers: [HOPE] },
  { question: 'How does suffering lead to hope?', answers: [HOPE] },
  { question: 'Why did the poor widow give more than the rich?', answers: [GENEROSITY] },
  { question: 'Is generosity only about giving money?', answers: [GENEROSITY] },
  { question: 'What does it mean that God loves a cheerful giver?', answers: [GENEROSITY] },
  { question: 'Why did only one of the ten lepers come back to say thank you?', answers: [GRATITUDE] },
  { question: 'How can I become a more thankful person?', answers: [GRATITUDE] },
  { question: 'Who is my neighbour according to Jesus?', answers: [SAMARITAN] },
  { question: 'Why did the priest and the Levite pass by the wounded man?', answers: [SAMARITAN] },
  { question: 'How do I pray when I do not know what to say?', answers: [PRAYER] },
  { question: "What is the Lord's Prayer about?", answers: [PRAYER] },
  { question: 'Should I keep asking God for the same thing?', answers: [PRAYER] },
  { question: 'Is it wrong to take a day off from work?', answers: [SABBATH] },
  { question: 'Why did God rest on the seventh day?', answers: [SABBATH] },
  { question: 'Why do I need other Christians around me?', answers: [COMMUNITY] },
  { question: 'What did the early church share with each other?', answers: [COMMUNITY] },
  { question: 'What is true humility?', answers: [HUMILITY] },
  { question: 'Where should a guest sit at a dinner party?', answers: [HUMILITY] },
  { question: 'Why did Jesus wash the feet of his disciples?', answers: [HUMILITY] },
  { question: 'How can I be brave when I am afraid?', answers: [COURAGE] },
  { question: 'What gave Joshua his courage?', answers: [COURAGE] },
  { question: 'Why did Esther risk approaching the king?', answers: [COURAGE] },
  { question: 'Is crying at a funeral a sign of weak faith?', answers: [GRIEF] },
  { question: 'Why did Jesus weep at the tomb of Lazarus?', answers: [GRIEF] },
  { question: 'How do I comfort a friend who is grieving?', answers: [GRIEF] },
  { question: 'What if my faith feels too small?', answers: [MUSTARD] },
  { question: 'What did the disciples ask when they wanted more faith?', answers: [MUSTARD] },
  { question: 'Who is the greatest in the kingdom of God?', answers: [SERVING] },
  { question: 'What did James and John ask Jesus for?', answers: [SERVING] },
  { question: 'Why would a shepherd leave ninety-nine sheep to find one?', answers: [SHEEP] },
  { question: 'Is anyone too far gone for God to find?', answers: [SHEEP] },
  { question: 'How can I stop worrying about tomorrow?', answers: [ANXIETY] },
  { question: 'What do the birds and the wildflowers teach about anxiety?', answers: [ANXIETY] },
  { question: 'What did Ruth promise Naomi?', answers: [RUTH] },
  { question: 'What does steadfast love look like in a friendship?', answers: [RUTH] },
  { question: 'Did God give up on Jonah after he ran away?', answers: [JONAH] },
  { question: 'Why was Jonah angry when Nineveh was spared?', answers: [JONAH] },
  { question: 'Why did the tax collector climb a tree?', answers: [ZACCHAEUS] },
  { question: 'Must people change before they are welcome in church?', answers: [ZACCHAEUS] },
  { question: 'Why did Jesus defend Mary instead of her busy sister?', answers: [MARTHA] },
  { question: 'I am too busy serving to sit and listen, what should I do?', answers: [MARTHA] },
  { question: 'What does it mean to be the light of the world?', answers: [LIGHT] },
  { question: 'Why would anyone hide a lamp under a basket?', answers: [LIGHT] },
];

/** Questions the sample sermons do not answer: every one must get no excerpts. */
export const OFF_TOPIC_QUESTIONS: readonly LabelledQuestion[] = [
  'How long do I boil an egg?',
  'How do I fix squeaky brakes on my car?',
  'Should I move my retirement account into index funds?',
  'What is the capital of Australia?',
  'How do I reset my router password?',
  'What is the best way to train for a marathon?',
  'How many calories are in a banana?',
  'Can you recommend a good laptop for programming?',
  'How do I get red wine out of a carpet?',
  'What time does the football match start tonight?',
  'How do I replace a flat bicycle tyre?',
  'What is the weather forecast for the weekend?',
].map((question) => ({ question, answers: [] }));

export interface SearchQuality {
  questions: number;
  /** Share of on-topic questions whose first excerpt comes from a right sermon. */
  precisionAt1: number;
  /** Share of on-topic questions with a right sermon among the first three excerpts. */
  precisionAt3: number;
  offTopic: number;
  /** Off-topic questions that got no excerpts at all. */
  offTopicEmpty: number;
  /** The on-topic questions whose top three missed, and the off-topic ones that got excerpts. */
  misses: string[];
}

/** Runs every labelled question through `search` (question → excerpt titles, best first). */
export function measureSearchQuality(search: (question: string) => readonly string[]): SearchQuality {
  let at1 = 0;
  let at3 = 0;
  const misses: string[] = [];
  for (const q of ON_TOPIC_QUESTIONS) {
    const titles = search(q.question);
    if (titles[0] !== undefined && q.answers.includes(titles[0])) at1++;
    if (titles.slice(0, 3).some((t) => q.answers.includes(t))) at3++;
    else misses.push(`${q.question} → ${titles.slice(0, 3).join(' | ') || '(nothing)'}`);
  }
  let empty = 0;
  for (const q of OFF_TOPIC_QUESTIONS) {
    const titles = search(q.question);
    if (titles.length === 0) empty++;
    else misses.push(`off-topic: ${q.question} → ${titles.join(' | ')}`);
  }
  return {
    questions: ON_TOPIC_QUESTIONS.length,
    precisionAt1: at1 / ON_TOPIC_QUESTIONS.length,
    precisionAt3: at3 / ON_TOPIC_QUESTIONS.length,
    offTopic: OFF_TOPIC_QUESTIONS.length,
    offTopicEmpty: empty,
    misses,
  };
}
