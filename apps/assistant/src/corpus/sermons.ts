// The bundled sample corpus: short sermons by a fictional pastor, written for this project so the demo
// has something real to search and answer from. Paragraphs are separated by blank lines.

export interface SampleSermon {
  readonly title: string;
  readonly content: string;
}

export const SAMPLE_SERMONS: readonly SampleSermon[] = [
  {
    title: 'The Long Road of Patience',
    content: `Patience is not the same thing as waiting. Anyone can wait; we wait in traffic, we wait for the kettle, we wait for test results with our stomachs in knots. Patience is what happens inside us while we wait. It is the decision to keep trusting when the answer has not come yet.

Think of the farmer James describes, who watches the sky for the early and the late rains. He cannot hurry the harvest. He can only tend the field, pull the weeds, mend the fence, and trust that the seed is doing its quiet work underground. His patience is active. It has dirt under its fingernails.

Many of us are waiting right now. Waiting for a prodigal child to call. Waiting for a diagnosis to turn. Waiting for a job, a reconciliation, a sign. I will not tell you the wait will be short. I will tell you that God is not idle while you wait, and neither are you. Tend the field you have been given today. Love the people in front of you. Pray honestly, even impatiently.

Patience is not pretending we are fine. It is bringing our restlessness to God again and again, and discovering that he is patient with us first.`,
  },
  {
    title: 'Seventy Times Seven: On Forgiveness',
    content: `Peter thought he was being generous when he asked whether he should forgive his brother seven times. Jesus answered with a number meant to break the calculator: seventy times seven. Forgiveness, he was saying, is not a ledger we keep until the account runs out.

Let us be clear about what forgiveness is not. It is not saying the wrong did not matter. It is not pretending to trust someone who has not become trustworthy. It is not staying in harm's way. Forgiveness names the wound honestly and then refuses to let the wound have the last word.

To forgive is to cancel a debt you have every right to collect. That is why it costs so much. The person who forgives absorbs the loss instead of passing it on. And that is exactly what God has done for us: he absorbed the cost of our wrongs rather than demanding we repay what we never could.

Some of you are carrying a grudge that has become a kind of companion. You feed it and it keeps you company at night. Forgiveness may not happen in a single moment. It may be a decision you make this morning and must make again tomorrow. Start anyway. Bitterness promises protection and delivers only a smaller life.`,
  },
  {
    title: 'The Father Who Ran: The Prodigal Son',
    content: `We call it the parable of the prodigal son, but the most surprising person in the story is the father. The younger son asks for his inheritance early, which in that culture was almost like saying, I wish you were dead. He wastes it all in a far country and ends up feeding pigs, hungry enough to envy their food.

When he comes to his senses, he rehearses a speech. He plans to ask to be hired as a servant. But while he is still a long way off, his father sees him. The father had been watching the road. And then the father runs, which dignified older men did not do, gathering up his robes and racing down the road to throw his arms around his son before a single rehearsed word is finished.

The robe, the ring, the sandals and the feast all say the same thing: you are not a hired hand, you are my child.

Then there is the older brother, standing outside the party, angry that grace was given so freely. He too is invited in. The story ends without telling us whether he went. Perhaps that is because the question is left for us. Whether we are the one coming home or the one who never left, the Father is already running toward us.`,
  },
  {
    title: 'Hope in Hard Times',
    content: `Hope is a word we use lightly. I hope it does not rain. I hope the team wins. But biblical hope is sturdier than wishful thinking. It is confidence rooted in the character of God, and it was forged in hard places.

Jeremiah wrote to people living in exile, far from home, their city in ruins. And the word he carried was surprising: build houses, plant gardens, seek the peace of the city where you are. God had plans to give them a future and a hope, but the future would not arrive next week. Hope meant living faithfully in the middle of the hard season, not skipping over it.

Paul, writing from his own troubles, says that suffering produces endurance, endurance produces character, and character produces hope, and that this hope does not put us to shame. Notice the order. Hope does not come from avoiding hardship. It grows through it.

If you are in a hard time, I will not hand you a slogan. Lament is allowed; many psalms are complaints. But I invite you to hold on to one small thing today: God has not abandoned you in this place. Plant something here. Love someone here. The dawn has not come yet, but it is coming, and you are not waiting alone.`,
  },
  {
    title: 'Open Hands: On Generosity',
    content: `A clenched fist cannot receive anything. That is the simplest lesson about generosity I know. When we hold tightly to what we have, we also close ourselves off from what God wants to give.

Jesus once watched people putting their offerings into the temple treasury. The wealthy gave large sums out of their abundance. Then a poor widow dropped in two small coins, worth almost nothing. Jesus said she had given more than all the others, because she gave out of her poverty, everything she had to live on. Heaven does not measure gifts by their size but by their cost and their love.

Generosity is not only about money. It is time given to a lonely neighbor, attention given to a child, credit given to a colleague, a second chance given to someone who failed. It is a posture toward life that says: what I have was given to me, so I can give it away.

Paul told the Corinthians that God loves a cheerful giver, and the word for cheerful is close to our word hilarious. Imagine giving with that kind of joy, not grudging, not calculating. Start small if you must. Open one finger at a time. You will find that an open hand is also a free one.`,
  },
  {
    title: 'The Habit of Gratitude',
    content: `Ten men with leprosy cried out to Jesus from a distance, and he sent them to show themselves to the priests. On the way, all ten were healed. Only one turned back, shouting praise, and threw himself at Jesus' feet to say thank you. He was a Samaritan, an outsider. Jesus asked, were not ten cleansed? Where are the nine?

I do not think the nine were bad people. I think they were busy. They were healed and they hurried on to rebuild their lives. Gratitude is often the first casualty of a busy life. We receive good gifts and move straight to the next worry.

Gratitude is a habit more than a feeling. Feelings come and go, but habits shape us. Try this for a month: each evening, name three specific things you are thankful for from that day. Not general blessings, but specific ones: the phone call from your sister, the bread that came out right, the stranger who held the door.

Paul wrote that we should give thanks in all circumstances. Not for all circumstances; some things are simply evil. But in all of them there is something, however small, for which to be thankful. The one who turned back received more than healing. He received a relationship. Gratitude turns gifts into friendship with the Giver.`,
  },
  {
    title: 'Who Is My Neighbor? The Good Samaritan',
    content: `A lawyer asked Jesus what he must do to inherit eternal life, and agreed that the answer was to love God and love your neighbor as yourself. Then, wanting to justify himself, he asked: and who is my neighbor? He wanted a boundary, a list of people he was obligated to love, which would also tell him who he was free to ignore.

Jesus answered with a story. A man was beaten by robbers and left half dead on the road from Jerusalem to Jericho. A priest passed by on the other side. So did a Levite. Both were religious professionals, and both may have had reasons: fear, ritual purity, appointments. Then a Samaritan, a man the listeners despised, stopped. He bandaged the wounds, put the man on his own animal, paid for his lodging, and promised to return.

At the end Jesus turns the question around. He does not ask who was the neighbor worth helping. He asks which of the three became a neighbor to the man in need. The question is not who deserves my love, but whose need is in front of me.

Love is costly and inconvenient. It interrupts our plans. Go and do likewise, Jesus said. Look up from the road this week. Someone is lying in the ditch.`,
  },
  {
    title: 'Teach Us to Pray',
    content: `The disciples watched Jesus heal the sick and calm storms, yet the thing they asked him to teach them was prayer. They had noticed that everything he did flowed from time alone with the Father.

The prayer he gave them is short enough for a child to memorize. It begins with relationship: our Father. It puts God's name and kingdom first, before our needs. Then it asks plainly for daily bread, for forgiveness, and for protection from temptation. Nothing fancy, nothing designed to impress.

Many people tell me they do not know how to pray, or that their prayers feel like they hit the ceiling. I understand. Prayer is not a technique for getting what we want; it is a conversation with someone who loves us. Some days it is praise. Some days it is complaint. Some days it is silence, sitting in the presence of God without words. All of these are prayer.

Jesus also told a story about a persistent widow who kept knocking on a judge's door. His point was not that God is reluctant, but that we should not give up. Keep asking, keep seeking, keep knocking. Begin with five minutes each morning. Say the Lord's Prayer slowly. Then tell God honestly what is on your heart. He is listening.`,
  },
  {
    title: 'Permission to Rest: The Sabbath',
    content: `We live in a culture that wears exhaustion like a badge of honor. Being busy proves we matter. Into that culture the old commandment speaks a surprising word: remember the sabbath day and keep it holy. Rest is not a reward for finishing your work. It is a gift built into the rhythm of creation.

On the seventh day God rested, not because he was tired, but to delight in what he had made. When Israel was freed from slavery in Egypt, the sabbath became a sign of that freedom. Slaves cannot rest; free people can. To keep sabbath is to declare that our worth is not measured by our productivity.

Jesus said the sabbath was made for people, not people for the sabbath. It is not a cage of rules but a space to breathe. Sabbath means ceasing from work, resting our bodies, delighting in good things, and remembering God.

What would it look like for you? Perhaps turning off the phone for one afternoon. A long walk. A slow meal with friends. A nap without guilt. The world will keep turning without you for a day, and that is precisely the lesson. God holds it together. You are allowed to stop.`,
  },
  {
    title: "Bear One Another's Burdens: Community",
    content: `The early church in Acts devoted themselves to the apostles' teaching, to fellowship, to breaking bread and to prayer. They shared their possessions so that no one among them was in need. It was not a perfect community; read a few chapters further and you will find arguments and complaints. But it was a real one.

We were never meant to follow Jesus alone. Paul compares the church to a body with many parts. The eye cannot say to the hand, I do not need you. Each part needs the others, and the parts that seem weaker are indispensable.

Community is harder than it sounds. It means showing up when it is inconvenient. It means being known, with our flaws visible. It means forgiving people who annoy us and letting them forgive us in return. It is much easier to attend a service anonymously and slip out before anyone asks how we are doing.

Paul wrote, bear one another's burdens. That requires two things: telling others what we are carrying, and being willing to carry some of theirs. If you are struggling, let someone in. If you are strong this season, look around for someone whose load is heavy. Join a small group, bring a meal, sit with someone at coffee. This is how the body heals.`,
  },
  {
    title: 'The Lowest Seat: Humility',
    content: `At a dinner party Jesus noticed how the guests jostled for the places of honor. So he told them: when you are invited, take the lowest place. Then your host may say, friend, move up higher. For everyone who exalts himself will be humbled, and the one who humbles himself will be exalted.

Humility is widely misunderstood. It is not thinking badly of yourself or refusing every compliment. As the old saying goes, humility is not thinking less of yourself but thinking of yourself less. The humble person is free from the exhausting work of constantly measuring herself against others.

The greatest picture of humility is Jesus himself. Paul writes that though he was in the form of God, he did not cling to his status but emptied himself, taking the form of a servant. On the night before he died, the Lord of all knelt with a towel and a basin and washed his disciples' dirty feet.

Pride builds walls; humility builds bridges. It makes us teachable, quick to apologize, able to celebrate another's success. This week, look for one opportunity to take the lower seat: let someone else have the credit, listen more than you speak, ask for help. There is a strange freedom in the lowest place.`,
  },
  {
    title: 'Be Strong and Courageous',
    content: `Moses was dead, and Joshua was left to lead a frightened people across the Jordan into an unknown land. Three times in a single chapter God tells him: be strong and courageous. You do not repeat that to someone who is already feeling brave.

Courage is not the absence of fear. It is doing the right thing while afraid. Joshua's courage did not rest on his own strength or experience. It rested on a promise: the Lord your God is with you wherever you go.

We need courage for different things. Some of us need courage to speak up about an injustice at work. Some need courage to have a difficult conversation with a spouse, or to finally get help for an addiction. Some need the quiet courage to keep getting out of bed during a long illness. That kind of courage rarely makes the news, but heaven notices it.

Esther was told that perhaps she had come to her position for such a time as this. She risked her life by approaching the king uninvited, saying, if I perish, I perish. Her courage saved her people.

What is the step you have been avoiding because you are afraid? You do not need to feel brave to take it. You only need to remember who goes with you.`,
  },
  {
    title: 'Jesus Wept: On Grief',
    content: `The shortest verse in the Bible is two words long: Jesus wept. He stood at the tomb of his friend Lazarus, surrounded by mourners, with Mary and Martha grieving beside him. He knew he was about to raise Lazarus from the dead. And still he wept.

That tells us something important. Grief is not a lack of faith. Jesus, who had more faith than anyone, cried at a graveside. Tears are not a failure to trust God; they are the honest response of love to loss. We grieve because we loved.

Paul says that we do not grieve as those who have no hope. Notice that he does not say we do not grieve. Christian hope does not cancel sorrow; it sits with it. We can weep and hope at the same time.

Grief does not follow a schedule. It comes in waves, sometimes years later, triggered by a song or a smell or an empty chair at the holiday table. Be gentle with yourself and with others who are grieving. You do not need the right words. Often the best thing is to show up, sit down, and say, I am so sorry.

The God who wept at Lazarus' tomb has promised a day when he will wipe every tear from our eyes. Until then, he weeps with us.`,
  },
  {
    title: 'Faith the Size of a Mustard Seed',
    content: `The disciples asked Jesus to increase their faith. They assumed the problem was quantity; if only they had more faith, they could do great things. Jesus answered that if they had faith as small as a mustard seed, they could tell a mulberry tree to be uprooted and planted in the sea, and it would obey.

The mustard seed was proverbially the smallest of seeds. Jesus' point was not that we need more faith, but that even a tiny amount of genuine faith connects us to a great God. The power is not in the size of our faith but in the one our faith is placed in.

This is good news for those of us whose faith feels weak. Remember the father who brought his sick son to Jesus and cried out, I believe; help my unbelief. Jesus did not send him away until his doubts were resolved. He healed the boy.

Elsewhere Jesus says the kingdom of God is like a mustard seed that grows into a tree where the birds make their nests. Small beginnings are not to be despised. A single prayer, a single act of kindness, a single step of obedience can grow into something you could never have imagined. Bring God the little faith you have. It is enough to begin.`,
  },
  {
    title: 'Came Not to Be Served: Serving Others',
    content: `James and John asked Jesus for the best seats in his kingdom, one at his right hand and one at his left. The other disciples were indignant, probably because they wanted those seats too. Jesus gathered them and explained that in his kingdom things work upside down. Whoever wants to be great must be the servant of all, for even the Son of Man came not to be served but to serve, and to give his life as a ransom for many.

Service is at the heart of following Jesus. It is not a program or a committee; it is a way of life. It shows up in ordinary places: the parent changing diapers at three in the morning, the neighbor shoveling a widow's driveway, the volunteer stacking chairs after everyone else has gone home.

Most service goes unseen, and that is part of its beauty. Jesus warned against doing good works to be noticed. When you give, do not let your left hand know what your right hand is doing. Your Father who sees in secret will reward you.

Serving others also changes us. It loosens the grip of self-centeredness and opens our eyes to needs we would otherwise miss. Ask God this week to show you one person you can quietly serve, and then do it without telling anyone.`,
  },
  {
    title: 'The One Who Wandered: The Lost Sheep',
    content: `A shepherd has a hundred sheep and loses one. Any sensible business would write off a one percent loss. But Jesus says the shepherd leaves the ninety-nine in the open country and goes after the one that is lost until he finds it. And when he finds it, he puts it on his shoulders, rejoicing, and calls his friends to celebrate.

Jesus told this story because the religious leaders were grumbling that he welcomed sinners and ate with them. The parable is his answer: this is what God is like. He does not wait for the lost to find their way back. He goes looking.

Notice that the sheep does nothing to earn its rescue. It does not find its way home or clean itself up first. It is simply found and carried. Some of you feel too far gone, as if you have wandered past the point where anyone would come looking. The story says otherwise.

And for those of us who are among the ninety-nine, the parable is an invitation to share the shepherd's heart. Who is missing from our pews, our tables, our friendships? There is more joy in heaven over one sinner who repents than over ninety-nine who need no repentance. Let us join the search party.`,
  },
  {
    title: 'Consider the Lilies: Anxiety and Peace',
    content: `Do not worry about your life, Jesus said, what you will eat or drink, or about your body, what you will wear. It is easy to hear those words as a scolding, as though anxious people just need to try harder. But listen to how he says it. Look at the birds of the air. Consider the lilies of the field, how they grow. They do not toil or spin, yet not even Solomon in all his splendor was dressed like one of these.

Jesus is not shaming us; he is pointing us to evidence. The same God who feeds the sparrows and clothes the wildflowers knows what you need. Worry, he adds gently, cannot add a single hour to your life.

Anxiety is real, and for some it is a medical condition that deserves care and treatment. Faith and counseling are not enemies. But all of us can practice turning our worries into prayers. Paul writes, do not be anxious about anything, but in everything by prayer and petition, with thanksgiving, present your requests to God. And the peace of God, which transcends all understanding, will guard your hearts.

Notice the order: not peace first and then prayer, but prayer first, and peace as its guard. Tonight, name your worries one by one, and hand each of them over.`,
  },
  {
    title: 'Where You Go I Will Go: Faithfulness',
    content: `The book of Ruth begins with a famine, three funerals and a bitter widow named Naomi who tells everyone to call her Mara, which means bitter. Her daughter-in-law Ruth, a foreigner from Moab, had every reason to go back to her own people. Instead she clung to Naomi and spoke some of the most beautiful words of loyalty ever recorded: where you go I will go, where you stay I will stay, your people will be my people and your God my God.

The Hebrew word often used for this kind of faithfulness is hesed: steadfast, covenant love that keeps showing up. Ruth gleaned leftover grain in the fields to keep Naomi alive. Boaz, the landowner, noticed her faithfulness and answered it with his own, protecting her and finally marrying her. Their great-grandson was King David.

Faithfulness is rarely dramatic. It is the friend who visits every Tuesday, the spouse who keeps their promises through illness, the volunteer who has taught Sunday school for thirty years. It is built from small, repeated choices to stay.

God is faithful like that. His steadfast love endures forever, as the psalm repeats again and again. In a world of broken promises, our faithfulness becomes a picture of his. Who needs you to stay with them this season?`,
  },
  {
    title: 'A Second Chance: Jonah',
    content: `God told Jonah to go east to Nineveh, and Jonah immediately booked passage west on a ship to Tarshish. We usually remember the storm and the great fish, but the most important verse in the book may be the first line of chapter three: the word of the Lord came to Jonah a second time.

God gives second chances. Jonah had run as far as he could, and still God did not replace him. He came back with the same call. Peter denied Jesus three times, and after the resurrection Jesus asked him three times, do you love me, restoring him and giving him work to do. Our failures do not disqualify us from God's purposes.

But the story has a twist. When Nineveh repented and God showed mercy, Jonah was furious. He wanted second chances for himself but not for his enemies. He sulked under a withering plant while God asked him, should I not be concerned about that great city?

It is a question for us too. We are glad for mercy when we need it. Are we glad when it reaches the people we think deserve judgment? The God of second chances invites us to receive his grace and to rejoice when others receive it as well.`,
  },
  {
    title: 'Come Down, Zacchaeus: Welcome',
    content: `Zacchaeus was a chief tax collector in Jericho, which meant he worked for the Roman occupiers and had grown rich by overcharging his own people. Everyone knew who he was, and nobody liked him. When Jesus came through town, Zacchaeus was too short to see over the crowd, so he ran ahead and climbed a sycamore tree.

When Jesus reached that spot, he looked up and called him by name. Zacchaeus, come down immediately. I must stay at your house today. The crowd muttered that he had gone to be the guest of a sinner. But Zacchaeus came down gladly, and before the meal was over, he stood up and promised to give half his possessions to the poor and repay anyone he had cheated four times over.

Notice what came first. Jesus did not demand that Zacchaeus change before he would eat with him. The welcome came first, and the transformation followed. Grace went ahead of repentance and made it possible.

Churches sometimes get this backwards, expecting people to clean up before they can belong. Jesus reversed it. The Son of Man came to seek and to save the lost. Who is up a tree in your life, watching from a distance? Call them by name. Invite yourself to dinner.`,
  },
  {
    title: 'Only One Thing Is Needed: Martha and Mary',
    content: `Jesus came to the home of two sisters. Martha welcomed him and threw herself into the preparations, while her sister Mary sat at his feet, listening. Eventually Martha had had enough. Lord, don't you care that my sister has left me to do the work by myself? Tell her to help me.

Many of us sympathize with Martha. Someone has to cook the dinner. Hospitality matters, and work is not the enemy. But Jesus answered tenderly: Martha, Martha, you are worried and upset about many things, but few things are needed, or indeed only one. Mary has chosen what is better, and it will not be taken away from her.

The problem was not Martha's service but her distraction. She was so busy doing things for Jesus that she had no time to be with Jesus. Her work had become a source of anxiety and resentment rather than an act of love.

This is a sermon for the busy, the responsible, the ones who keep everything running. You are loved for who you are, not for how much you produce. Sitting at the feet of Jesus is not laziness; it is where our serving finds its strength. Make room this week to stop, sit and listen before you rush to do.`,
  },
  {
    title: 'A Light on a Hill',
    content: `You are the light of the world, Jesus told a crowd of ordinary people on a hillside: fishermen, farmers, the sick and the poor. He did not say you should try to become the light. He said you are. A city on a hill cannot be hidden, and nobody lights a lamp and then puts it under a basket.

Light does not argue with darkness; it simply shines, and darkness gives way. We are not called to shout louder than the world but to live in a way that shows another world is possible. Let your light shine before others, Jesus said, so that they may see your good deeds and glorify your Father in heaven. The point is not our own reputation but God's.

Light shows up in small ways: honesty when a lie would be easier, kindness toward someone nobody else notices, joy in hard circumstances, courage to stand with the vulnerable. A single candle can be seen a long way off on a dark night.

Some of you feel your light is dim, flickering, nearly out. Remember that the light was never ours to begin with. We reflect the one who said, I am the light of the world. Stay close to him, and you will shine more than you realize.`,
  },
];
