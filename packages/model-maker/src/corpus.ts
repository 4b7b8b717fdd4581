/**
 * Little stories from a seeded grammar: the text the tokenizer is trained on
 * and the eval set the model is scored on. Plain ASCII sentences with names,
 * places and dialogue, so next-token statistics are regular enough for
 * perplexity and divergence figures to mean something.
 */
import { Random } from "./random.js";

const NAMES = [
  "Lily", "Tom", "Mia", "Ben", "Sara", "Max", "Anna", "Leo", "Emma", "Sam", "Zoe", "Jack",
  "Ruby", "Finn", "Ella", "Noah", "Ivy", "Oscar", "Nora", "Hugo", "Lucy", "Theo", "Rosa", "Eli",
];
const ANIMALS = [
  "cat", "dog", "bird", "fox", "bunny", "bear", "duck", "frog", "mouse", "owl", "turtle", "horse",
  "lamb", "pig", "squirrel", "deer", "goat", "puppy", "kitten", "fish",
];
const ADJECTIVES = [
  "little", "happy", "brave", "kind", "shy", "curious", "sleepy", "funny", "gentle", "clever",
  "tiny", "big", "quiet", "silly", "proud", "friendly", "busy", "small", "bright", "careful",
];
const COLORS = ["red", "blue", "green", "yellow", "purple", "orange", "pink", "brown", "white", "golden"];
const PLACES = [
  "forest", "garden", "park", "village", "farm", "meadow", "river", "beach", "hill", "town",
  "house", "pond", "school", "field", "lake", "valley",
];
const OBJECTS = [
  "ball", "kite", "box", "hat", "book", "cake", "apple", "flower", "shell", "drum", "boat",
  "toy", "stone", "leaf", "cup", "key", "map", "bell", "basket", "coat",
];
const ACTIVITIES = [
  "play", "run", "jump", "sing", "dance", "read", "swim", "paint", "climb trees", "look at the stars",
  "build things", "pick flowers", "go for walks", "bake cookies", "fly a kite", "tell stories",
];
const FEELINGS = ["happy", "sad", "scared", "excited", "surprised", "worried", "proud", "tired", "glad", "angry"];
const TIMES = ["One day", "One morning", "One sunny day", "One rainy afternoon", "Later that day", "The next day", "That evening"];
const ENDINGS = [
  "From that day on, they were best friends.",
  "They laughed and played until the sun went down.",
  "Everyone was happy, and they all went home for dinner.",
  "It was the best day ever.",
  "They promised to help each other again.",
  "And they lived happily ever after.",
];

const NAME_START = [
  "Bri", "Ka", "Mo", "Lin", "Tor", "Vel", "Ash", "Fen", "Gal", "Hol", "Ros", "Wil", "Ery", "Dun", "Mar",
  "Pel", "Sil", "Tam", "Or", "Cal", "Nor", "Bel", "Thorn", "Elm", "Oak",
];
const NAME_MIDDLE = ["", "an", "el", "or", "in", "ad", "um", "ber", "ri"];
const NAME_END = ["dale", "wood", "moor", "ford", "ton", "brook", "field", "vale", "mere", "stead", "haven", "crest", "by", "wick"];
const COUNTS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve"];

/** A made-up town name from syllables ("Ashelbrook"), so the text has rare words too. */
function townName(random: Random): string {
  return random.pick(NAME_START) + random.pick(NAME_MIDDLE) + random.pick(NAME_END);
}

type Pronoun = { readonly subject: string; readonly object: string; readonly possessive: string };
const PRONOUNS: readonly Pronoun[] = [
  { subject: "she", object: "her", possessive: "her" },
  { subject: "he", object: "him", possessive: "his" },
];

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** One story, drawn from `random`. */
export function story(random: Random): string {
  const hero = random.pick(NAMES);
  const p = random.pick(PRONOUNS);
  const animal = random.pick(ANIMALS);
  const adjective = random.pick(ADJECTIVES);
  const place = random.pick(PLACES);
  let friend = random.pick(NAMES);
  if (friend === hero) friend = NAMES[(NAMES.indexOf(hero) + 1) % NAMES.length] ?? friend;
  const friendAnimal = random.pick(ANIMALS);
  const color = random.pick(COLORS);
  const object = random.pick(OBJECTS);
  const activity = random.pick(ACTIVITIES);
  const feeling = random.pick(FEELINGS);
  const time = random.pick(TIMES);

  const sentences: string[] = [];
  switch (random.int(3)) {
    case 0:
      sentences.push(`Once upon a time, there was ${article(adjective)} ${animal} named ${hero}.`);
      break;
    case 1:
      sentences.push(`${hero} was ${article(adjective)} ${animal} who lived in the ${place} near ${townName(random)}.`);
      break;
    default:
      sentences.push(`In a ${place} far away, there lived ${article(adjective)} ${animal} called ${hero}.`);
  }
  sentences.push(`${capitalize(p.subject)} loved to ${activity} with ${p.possessive} friend ${friend}, ${article(random.pick(ADJECTIVES))} ${friendAnimal}.`);
  sentences.push(`${time}, ${hero} found ${article(color)} ${object} near the ${random.pick(PLACES)}.`);
  switch (random.int(5)) {
    case 0:
      sentences.push(`"Look, ${friend}!" said ${hero}. "What a ${color} ${object}!"`);
      sentences.push(`${friend} was ${feeling}. "Can I hold it?" ${friend} asked.`);
      break;
    case 1:
      sentences.push(`${capitalize(p.subject)} felt ${feeling} and ran to show ${friend}.`);
      sentences.push(`"We should keep it safe," said ${friend}.`);
      break;
    case 2:
      sentences.push(`But the ${object} was stuck, and ${hero} could not get it.`);
      sentences.push(`${friend} came to help, and together they pulled and pulled.`);
      sentences.push(`At last the ${object} came free, and ${hero} was ${random.pick(FEELINGS)}.`);
      break;
    case 3:
      sentences.push(`${friend} said it came all the way from ${townName(random)}, ${random.int(90) + 10} miles away.`);
      sentences.push(`"Then we must take it back," said ${hero}, and they walked for ${random.pick(COUNTS)} days.`);
      break;
    default:
      sentences.push(`${hero} asked, "Who lost this ${object}?"`);
      sentences.push(`A ${random.pick(ADJECTIVES)} ${random.pick(ANIMALS)} said, "It is mine! Thank you, ${hero}."`);
  }
  const count = 1 + random.int(3);
  sentences.push(`They played with the ${object} ${count === 1 ? "once" : count === 2 ? "twice" : "three times"} before lunch.`);
  sentences.push(random.pick(ENDINGS));
  return sentences.join(" ");
}

/** `count` stories from the named stream of `seed`. */
export function stories(seed: number, stream: string, count: number): string[] {
  const random = new Random(seed, stream);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(story(random));
  return out;
}

/** Text the tokenizer learns its merges from. */
export function trainingCorpus(seed: number, count = 4000): string[] {
  return stories(seed, "corpus/train", count);
}

/** The eval set, one JSON object per line (`{"text": "..."}`), newline-terminated. */
export function evalJsonl(seed: number, count: number): string {
  return stories(seed, "corpus/eval", count)
    .map((text) => JSON.stringify({ text }) + "\n")
    .join("");
}
