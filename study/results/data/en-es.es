Por aquí, en Nueva York, todos hablan corrientemente de finanzas
"Los alemanes tienen en Afganistán un número relativo de reemplazos.
La joven hablaba del niño cuando ya estaba muerto y tenía un blog: "Terror a la gallega"
"Intentamos conseguir estudiantes en las ferias especializadas."
Asimismo, se utilizan sustancias naturales durante la fabricación de la funda de los colchones, una de las primeras aloe vera.
Lo que cuenta, es sensibilizar a los consumadores y rendir esta información de dominio público.
En abril 2007 su verdadero padre, Terraza Randle, encontró a la mujer muerta en su apartamento de Plymouth.
Y también para recordarles que antes de ponerse en marcha se aten los cinturones.
Pero la cuestión no está en los megapíxeles, sino en la calidad de la matriz y en la profundidad.
C3 produce el festival Lollapalooza de Chicago y el Austin City Limits Music Festival.
A la edad de 46 años, este médico de formación pues ha sido encargado de "operar" el panel solar "herido".
En este momento estuve muy feliz porque ya desde hace dos años había empezado a estudiar este idioma.
Tendrán prioridad las personas que firmen el acuerdo de subida de alquiler.
Los tres aviones restantes son los monoplaza L-159.
Aunque se identificó en los Países Bajos, en realidad está distribuido por el mundo.
Finalmente, después de un voto en clase, 20 niños de cada 23 han elegido a Mohamed como nombre preferido.
Según Fuchs, los estados de excepción pueden llevar a cualquier persona a perder el contacto con la realidad de manera provisional.
Jumaane Williams, miembro del Consejo Municipal de Nueva York
En la galería del segundo piso se encontraba el salón y en el tercer piso los dormitorios y la parte privada del apartamento.
Pero, a causa de la situación política que se vive aquí, es evidente que el gobierno no puede defender en público esa postura.
El problema es que Alemania quiere tocar a Wagner y el resto el himno de la alegría de Beethoven.
¿Acaso encuentras tu bolígrafo perdido en la mesa de uno de tus colegas?
Morgan Freeman sin embargo dice, que está orgulloso de la película nueva.
- Por lo que yo recuerdo, Microsoft, a diferencia de Google, no ha presentado sus gafas al público.
Tuvo que ser operada en un hospital, como comunicó la policía el martes.
El BCE debe ser creíble y persistente.
Desde el año 2001 es miembro de la Sala de la Gloria de hockey.
Actualmente la empresa Audatex está trabajando para que estas imágenes sean tridimensionales.
Las empresas produjeron en septiembre el dos por ciento menos que el mes anterior, como informa la oficina de estadística de Eurostat.
La embajada de Alemania en Cairo rechazó tomar la posición respecto a este informe.
Después de la adquisición del Depfa el Hypo Real Estate se convirtió en un importante financiero estatal y financiero en el ámbito de la infraestructura.
El nuevo Gobierno deberá funcionar hasta 2013, fecha de las próximas legislativas, considera.
"La UEFA no va a quitar los ojos de nosotros."
Picasso decía que los buenos artistas copian, los grandes artistas roban.
La dueña del vehículo indicó posteriormente que su coche había sido robado hacía poco.
Normalmente se quedan en moteles y aparcan la furgoneta justo frente a la ventana de su habitación.
En Estados Unidos, su caso marca el final flojo de una investigación lanzada después del derrumbamiento de Enron en 2001.
Estos cuentan con dos espejos, cada uno de ellos con un diámetro de 10 metros.
Las mujeres embarazadas, que amamantan o que no tienen un método anticonceptivo afectivo no son elegibles.
En la televisión, el presidente Loukachenko y los miembros de la comisión central electoral se felicitan por su éxito.
El fraude en las bajas por enfermedad no resulta especialmente significativo en comparación con el trabajo no declarado.
El MP3 lo reproducen todos y, prácticamente, casi toda la música que le llegue será en este formato.
Por otro lado, diversos representantes del sector sí reclaman una ayuda económica considerable.
El señor Nag dijo que la crisis de la eurozona amenaza con "importantes efectos en cadena" por toda Asia.
No hubo una confirmación de esto por parte de la emisora, oficialmente para no anticiparse al procedimiento.
La altura, en cambio, no varía y se mantiene en los 1,52 metros.
"Esa es una de las posibilidades," declaró Walsh.
El año pasado quizá no fue en Farmet solo una muestra de la euforia de la victoria.
El miércoles por la tarde se produjo un corrimiento de tierra en Shawinigan, en Mauricie.
Las mínimas funciones, su manejo parecido a los anteriores casetes corrientes o también a los tocadiscos es evidente.
Uno de los aviones nuevos ya lo recibió el ejército en julio, el otro se entregará a finales de año.
Los físicos no podían explicar este efecto hasta ahora .
La AIEA manifestaba la semana pasada su "grave preocupación" por una "posible dimensión militar" del programa nuclear iraní.
Ayer la subasta de letras a un año en Portugal ha sido muy pobre.
Día mundial de la lucha contra el SIDA: bailar, cantar, ayudar
"El propósito es hacer a Patti LaBelle responsable de su conducta", dijo Davis.
En este momento no lo pensamos en absoluto, dijo su portavoz Vlastimil Sršeň.
¿Cómo ha logrado Pearl Jam mantener relevante el grunge a pesar de no ser ya una moda?
En enero de 2010 fue dispensada del servicio bajo términos menos-que-honorables, lo que le impide recibir cualquier beneficio.
París, Londres, Fráncfort o Bruselas son algunos de los más destacados.
Lamentablemente, hasta Scarlett Johansson tendría que luchar para aumentar el ínfimo respeto de China para con estos escuadrones de la ciudad.
Refundar la república alrededor del socialismo del siglo XXI.
El principal planificador de al Qaeda ha sido, aparentemente, asesinado en Pakistán
Ya está en uso en más de 200 ciudades chinas. En Singapur se está usando una aplicación llamada TraceTogether.
"Hasta hoy tenemos una acción parecida en el último año con todos los participantes."
La agencia dijo que Frazetta padre negó haber concedido tal permiso.
En toda mi vida no he ido nunca a hacer la compra a un supermercado.
Ahora bien, añade que "en sociedad, hay etiquetas y limitaciones".
Ellos argumentaron que los medios de comunicación continuamente echaban leña al fuego de la emoción sobre el caso.
La reconstrucción duró dos años y la casa se completó en el año 1906.
Rajchl promete que, en caso de ser elegido, se trabajaría duro.
En el escenario se reflexiona muy bien sobre lo que ya es evidente.
La lista de las setenta propuestas de este año está publicada en las páginas del concurso.
Ambos acontecimientos registraron ingresos brutos respectivos de 9,8M$ y de 11,3M$ en 2007.
Watson fue además la base de una cultura de empresa cuidadosamente levantada.
Se podría explicar por una toma de conciencia individual, pero también por la nueva dimensión del PSG.
Pero observó que las exigencias de altura eran estándares en muchos avisos de trabajo chinos para ambos sexos.
Por lo menos, esto es lo que las guías dicen.
Habrá que esperar a 2010 para que llegue a otros países, como España.
"Lo cierto es que no me gustan las abreviaciones feas, los extranjerismos o las jergas que la gente no entiende".
En estos días de temporales y accidentes, no sólo ganan los talleres de coches.
Las células T cooperadoras producen citocinas proinflamatorias para ayudar a las células defensoras.
Estimamos que si todo el mundo comiera bien y se moviera lo suficiente, se podrían prevenir un 30% de los cánceres.
Pese a ello, alcanza un diámetro de aproximadamente once metros.
Vencer las leyes de gravedad gracias a un súper pegamento y en un futuro caminar sobre las paredes como el hombre araña.
Después de 18 meses de confusión e incertidumbre, MGM ha conseguido finalmente luz verde para comenzar de nuevo.
Es posible limitar de mucho estos daños recurriendo a soluciones como la reducción de niveles y del tiempo de exposición al ruido.
También ante la costa atlántica permanecen nuevas perforaciones vedadas por el momento.
Hablar en voz alta libera más gotitas que cuando se habla con un volumen normal.
El "Mandolin Concerto" de Dorman está nominado por la actuación solista instrumental con orquesta.
Los animales, al perder su hábitat habitual, simplemente no pueden realizar su instinto sexual.
Ya sea a nivel de confort físico, emocional o espiritual.
"Este no es un resultado con el que se puede vivir, y ciertamente no es uno que debamos imponernos a nosotros mismos."
Así es la Casa Batlló, en Barcelona, del arquitecto catalán Antoni Gaudí.
Los observadores rusos al contrario del político de la oposición calificaron de democráticas a las elecciones.
A este respecto, los determinantes moleculares en esta importante área de interacción virus-huésped aún deben identificarse y caracterizarse.
Los mayas nunca predijeron el fin del mundo; es tan solo un punto clave en el calendario, dijo Restall.
Como se puede compaginar la coexistencia entre singulares partes del banco con el DEKA, eso va a mostrar el tiempo.
Anderson tomó 32 wickets de primera clase en 33 carreras por cada uno para ganar un lugar.
A Y la preocupación por la imagen de Eatonville realmente empezó por Zora, como aquí nadie le llama Sra Hurston.
El primer ministro Fischer reaccionó y calificó palabras similares de "sentencias fuertes".
Según Lukáš Marvan, el portavoz de los bomberos de la región Ústí, el incendio está extinguido por seis grupos.
Los movimientos humanos son bastante dinámicos y los actuales de 30 fps son verdaderamente escasos, sobre todo para los gestos.
La identidad de los secuestradores se quedó desconocida hasta el final así como los detalles de la liberación o posibles pagos de rescate.
En la actualidad, existen pocos dispositivos equipados con la tecnología NFC (Near Field Communication), indispensable para realizar las transacciones.
La diferencia de los tipos ("spread") entre las obligaciones a 10 años en Alemania y España, ha alcanzado un nuevo máximo histórico.
"Las autoridades del estado me han tratado como si fuera una vieja chismosa, una alborotadora, una quejica.
Es necesario investigar más sobre cuáles de estas intervenciones son las más eficaces en los distintos entornos de atención de la salud.
El portavoz no nombra los motivos de la venta en proyecto.
"En mi primera entrevista en el año 2005 ya observé que me miraban con cautela.
Según la bailaora, "no pretendemos contar su vida sino recoger su espíritu.
ácido nucleico (ADN y ARN) (desarrollador de la fase I y posible vacuna: Moderna, mRNA-1273)
Xindu, un distrito urbano de 680.000 habitantes en Chengdu, ha elegido un cambio de imagen radical.
Una mujer de 52 años se encuentra gravemente herida al caerse el lunes de un tranvía en Lichtenberg, Berlín.
Él me dijo, después de mi visita al banco, que "ahora tengo todos mis ahorros en fondos del mercado monetario.
El señor Wilkins ofrece algunas explicaciones sobre esta situación.
En cada concierto actúan varios grupos e intérpretes.
El tren directo, al contrario, no volverá a circular a Bratislava.
En Suazilandia hay 245.000 huérfanos del SIDA.
Aunque en la Unión Europea Bulgaria tiene los precios inmobiliarios más bajos, en los últimos cinco años estos sufrieron un aumento anual del 21 por ciento
Un microbio resistente al arsénico plantea la posibilidad de nuevas formas de vida en la Tierra... o en otros lugares
A la fecha de este análisis, no se ha confirmado la eficacia de ninguna terapia antiviral.
A mediados de noviembre, sus allegados tuvieron, incluso, que desmentir una nueva internación.
El análisis filogenético ha brindado evidencia de eventos de transmisión de coronavirus de humanos entre especies en la historia.
En comparación con su alrededores más de color, los del Bowery, Extra Place ha dejado una huella en la historia.
"Si piensa que puede perder, no será candidato", opina Jean-Pierre Raffarin.
Los investigadores suponen que los afectados sufren daños cerebrales mínimos.
Las fotografías muestran la secuencia en la que previsiblemente se desarticuló a lo largo de dicho recorrido.
La condición es no haber recibido ni una dosis de la vacuna antes.
El método estándar de prueba es la reacción en cadena de la polimerasa con transcripción inversa en tiempo real (rRT-PCR).
LICENCIA: CC0: Sin derechos reservados
Las familias, después de las expectativas más esperanzadoras de la primavera y del verano, ahora son más pesimistas en cuanto al cambio de su propia situación económica.
A continuación también prometió que su nombramiento como presidente del fútbol no comportaría ninguna modificación personal de la plantilla.
Ahora es posible sobrevivir a este síndrome y hacerlo con calidad de vida.
Pero ahora existe en el mercado su sucesor, el Peugeot 207, y éste, es mucho mejor.
En su último encuentro en Viena, habló de una "hermandad europea" para prevenir el surgimiento del Islam.
Ayuda a proporcionar puntos de referencia para medir después los cambios.
Entre sus alimentos favoritos se encuentran la pasta, la carne y los dulces
"Todos los proveedores intentarán colar ingredientes aromatizados en su mercancía."
La mayor parte de los noventa y cuatro Brillo-Box de "tipo" de esta lista son falsos.
La científica investiga desde 1994 el campo de la ingeniería genética y actualmente trabaja en el Instituto Técnico de Zurich.
No debe ni siquiera interesarse del formato en el que el móvil o el reproductor reproducen la música.
El uso de la máquina, que empezará a funcionar mañana, es simple.
"Internet surgió como un medio para buscar información, pero con el aparecimiento de estos sitios cambiaron las reglas del juego", menciona.
En cuanto a la nueva generación, los responsables de la filial española esperan vender 2.000 unidades del Jazz en un año completo.
Si se requieren sesiones más prolongadas, considere la manera de seccionarlas en el transcurso de varios días.
" Las necesidades aumentan porque la población envejece.
Las negociaciones se habían acabado muy rápidamente en las últimas horas porque temían el efecto que provocaría un nuevo fracaso en el humor de los inversores.
En los muros de Pompeya existen graffitis en latín sobre el aburrimiento que datan del siglo I d.C.
El grupo dijo que al menos 90 personas habían sido detenidas en las últimas tres semanas, para prevenir más manifestaciones.
Moelis and Co., que ya ha recibido 1,2 millones de dólares, obtendrá un pago de 9,5 millones de dólares.
La OMS recomendó usar ceniza o arena como una alternativa al jabón cuando no se dispone de jabón.
¿Hacerle pensar que él siente lo que parece que debería sentir en el momento en que ve algo?
El español es de los principales, y cuenta con cuatro plazas asignadas.
En las autopsias, también se informaron infiltrados linfocíticos.
Al contrario, los recuerdos de los viajes mentales son, muchos años después, muchísimo más claros, incluso en los detalles irrelevantes.
Si buscáis una simulación realista, ya podéis buscar en otra parte.
Y espera, en los próximos días, una última visita de su hijo que vive en Italia.
"Esta información fortalece la hipótesis de una operación normal de crucero al momento del impacto", expresó.
Desempeñó este cargo hasta su muerte en 1959.
Se están investigando varios compuestos que se aprobaron anteriormente para el tratamiento de otras enfermedades virales para usarlos en el tratamiento de la COVID-19.
En ocasiones esto es la ley de la selva.
Oh là là, c'est la vie.
En el camino del recorrido del río que pasa por manglares, la extensa desolación resulta obvia.
"Según se vaya extendiendo el uso de los dispositivos de seguimiento, también los buscará, puesto que su venta sin duda se realizará con mucha publicidad"..
La causa de eso eran las preocupaciones de los inversores que el paquete de salvación estatal pudiera fracasar.
Recientemente, etólogos de la Universidad de Cambridge comprobaron en cuatro grajos hasta dónde llega la inteligencia de las aves.
Es mucho, pero cuente con los complementos del equipo en el Fabia y llegará a un número bastante parecido.
Esto explicaría que, en el momento del arresto, tuviese tanto dinero encima.
Puede resultar extraña su inclinación de cuarenta y cinco grados.
¡Debes reconocer si has cometido un error que perjudica a otros y debes reparar la falta!
Teniendo como base el precio medio ponderado, MUFG pagará sus títulos Morgan Stanley un 7 % por debajo de su valor contable.
"La gente está harta", dijo Trillanes.
Para la encuesta de este año se presentaron más de cien, en particular 105 normas y reglamentos que no tienen sentido.
"Pero seguramente en algún momento," le pregunto, "Turquía podría verse obligada a elegir? "
La Unión Europea es el primer compañero comercial de la India y representa el 18 % de su comercio exterior.
Buffett evitó las empresas de tecnología hasta la fecha.
El precio concordado es inferior al 19 % del valor contable de los títulos al 31 de agosto.
Del primer grupo de casos informados en diciembre de 2019, se determinó que dos tercios tenían un vínculo con el mercado.
Por lo tanto, sigue sin revelarse la localización del fundador de Wikileaks.
El presidente de Eulen impugnará la junta de Vega Sicilia pedida por sus hijos
José se hizo seguidor de Ask, luego de leer una recomendación en Twitter.
Gt Motive es la única empresa española dedicada al desarrollo de este tipo de herramientas.
Las ECA2 receptoras tienen una expresión alta en el corazón y participan en su funcionamiento.
"Estos resultados no pueden ser deducidos de ninguna teoría económica existente anteriormente.
El sistema antimisiles Cúpula de Hierro de Israel ha demostrado su eficacia y muchos de los misiles de Hamás han sido destruidos.
No se ha hecho rico, en absoluto inmensamente rico.
Quizás se imponga el ala dura, aunque la primavera árabe podría alterar sus cálculos.
Las circunstancias han cambiado desde su avance irresistible entre 1994 y 1996.
Los políticos federales y comunales lo han dispuesto así.
Pues, quizás con excepción de ciruelas marinadas en el sal, bufff!
Ella supo el tamaño de su infidelidad solo después de divorcio.
El problema que puede surgir es que la normativa "se endurezca" y que sea imposible cumplirla.
"Sonó una señal de alarma", dice Lyman.
Kirill Miller es uno de esos cuentistas puramente sociofilósofos de San Petersburgo, creadores de nuevas mitologías.
Hasta allí, desde el pie de la colina se ofrecen servicios de autobús.
En la bucólica ciudad de Valle del Bravo, por ejemplo, se le recuerda con cariño.
Al principio tocaban en el sótano de Berliner Schaubuehne.
Cornelius Jol el entrenador asistente asintió con la cabeza y levantó los dedos en señal de asentimiento.
Los observadores creen que ya este lunes se podría llegar a ello en la reunión excepcional de la presidencia del partido.
Para convertirse en un gran club europeo, París tiene que ganar títulos y estar ahí a largo plazo.
El campeón de Europa de 1976 se clasifica por quinta vez consecutiva para la Eurocopa.
Este domingo, a la marcha de cuatro kenianos, Gebrselassie alcanzó la mitad de la carrera en 1:02:04.
La aerolínea Qantas quiere demandar al fabricante del motor.
Los grandes bancos estadounidenses sacudidos por la crisis se despojan de sus ataduras estatales.
Y por eso debieron desaparecer las terminales: en Frankfurt y Munich.
Se están evaluando varios anticoagulantes en Italia.
¿Ha socavado Alemania su relación con EE. UU. al abstenerse de votar en importantes decisiones como en la votación sobre Palestina?
Casi siempre la política se aplasta en la gestión ordinaria y en emergencias que de vuelta en vuelta se manifiestan..
También pide a Hervé de Charette "que transfiera la propiedad de (la) marca a los legítimos derechohabientes".
El temporal no amaina en el conflicto abierto en la familia Álvarez, propietarios de Eulen y El Enebro.
Al menos las personas mayores de Azerbaiyán no saben lo que es la pobreza.
En muchas calles reina el caos, fallan los trenes y los aviones.
Hasta ahora este grupo se había comportado bien ahora veremos qué cosa ha sucedido y lo tendremos en cuenta para el futuro.
Hace broma cuando se dice de Ud. que es populista.
Con un gol y simples métodos el SV de Hamburgo se convierte en el líder.
Los jóvenes protagonizaron graves disturbios en las calles con la policía al norte de París las pasadas noches.
A abril de 2020, no existe un tratamiento específico para la COVID-19.
El presidente Václav Klaus se expresó de nuevo con respecto a la problemática del calentamiento global.
Sylvana y los secretos del Bent?-Box
El alcalde de Bod Hombruger, Michael Korwisi (Los verdes) se lamenta de la decisión de Fujitsu.
Pero la adaptación requiere concesiones mutuas.
En noviembre se lanzaron las "rebajas gigantes".
Lo amenazaban y le exigían dinero.
La modelo argentina Valeria Mazza tampoco olvida el carisma del modisto.
Audatex no lo ofrece en nuestro país, pero sí en Estados Unidos.
Y añade que el proceso es "doloroso, pero positivo".
Ellos entraron en el hotel "Península" y exigieron la caída de la presidente Gloria Macapagal Arroyo.
El informe detalla "los modelos del abuso" del régimen, antes y después de las elecciones presidenciales celebradas en junio.
Los canadienses viven negando la muerte, según indica el informe de la Sociedad Real de Canadá
Se ha hecho el informe oficial pericial sobre el caso del accidente mortal causado por el comandante de la policía del distrito XXII.
Cabe mencionar que los desempleados discapacitados siguen enfrentándose a numerosos obstáculos para acceder al empleo.
Tech Toys quiere mantener el equilibrio de su presupuesto para regalos
En 2011 se registraron aproximadamente 2.700 casos.
En Ecatepec, partes de un cuerpo humano fueron halladas en el canal de aguas negras de la colonia Playa Golondrina.
Hay también pulseras para la muñeca que influyen en las terminaciones nerviosas de los dedos, esto también una dirección prometedora.
Al comprender cada uno de los incisos ellos tienen fundamentos sólidos para conversar con sus hijos sobre las implicaciones de abrir una cuenta en Internet.
En los casos anteriores los motores se averiaron inmediatamente en la primera etapa.
La comunidad fue fundada en 1958 como la llamada "Ciudad de planeación socialista" para la investigación de armamento.
Mundial 2018-2022: la FIFA designa a los países organizadores
El 18 de noviembre se abre una ventanilla especial en el centro de atención al cliente para los nuevos alquileres.
Aprovechó las negociaciones, para de repente poder depositarse con unos 30 simpatizantes.
Se cree que estos casos son un empeoramiento de una infección persistente y no una reinfección.
"Su problema podría ser resuelto", dijo el ministro.
El organizador principal es la Unión Checa de Corales en colaboración con el Instituto de Secundaria Jan Kepler.
El alcalde de Hamburgo recibió muchas críticas de la política y economía por no solicitar los Juegos Olímpicos del Verano.
"Tenemos que fijarnos TAMBIÉN en que los problemas sociales de nuestro país no tomen la forma violenta".
Quienes se encargan de las regulaciones en el estado de Washington también están dándole vueltas al asunto.
La prueba regular de ARN para el SARS-CoV-2 puede dar negativo en algunos pacientes con COVID-19.
No estamos declarando un feriado; si puede trabajar en un horario más normal, esto sería de gran utilidad para la misión.
Señaló, que está pensando en permanecer en la función.
Posiblemente todos estos conflictos ocurrieron en un breve espacio de tiempo.
Entre ellos se encuentra un alfacoronavirus de alpacas.
Estos aparatos disponen de teclas independientes para el MP3 lo que hace un servicio tan cómodo como el de un mismo reproductor.
Se prevé una nueva reunión el lunes para realizar "un análisis más extenso sobre las condiciones de ejercicio de la profesión", precisó la RATP.
En el mes de noviembre Honda iniciará la comercialización de la segunda generación del Jazz.
si algún conductor debería haber sido caballero, éste es Vernon Handley.
En Hodonínska, se requiere cautela en la zona de los Bílé Karpaty (Cárpatos blancos).
Mejor que digamos que tenemos una "Zlatandependencia".
Se dicen tantas cosas de ella que, yo que la conozco, te diría que muchas no son ciertas.
"El mejor camino para hacerse atractivo como empleador pasa por los propios empleados", asegura.
Control sigue el ascenso a la fama de Curtis con Joy Division, hasta su suicidio en 1980, a la edad de 23 años.
Pero por ahora su aparición está acompañada de un muro impenetrable de silencio.
Estos últimos también se quejan de las malas condiciones laborales, tales como la falta de montacargas o escáneres de mano.
Los bancos centrales están reaccionando más rápido de lo que reaccionaron al colapso financiero de 2008.
Parece que hasta ahora la empresa IBM ha sabido capear la crisis.
Tampoco faltó el misterioso intento de asesinato de rigor.
El Mazda3 2.0 i-Stop es uno de los mejores compactos de la categoría.
Vicenová se ha ocupado también de la agenda seguía, sigue y seguirá el Consejo Europeo en el futuro próximo.
¿En realidad de dónde viene todo el helado?
Precaución: Una vez que comienza a apretar, no puede parar.
El tabaco está vinculados con el 85% de los casos del cáncer de pulmón.
Éste último confesó que para este fin debía elegir hostales y restaurantes.
Estas reformas se suman a las medidas de austeridad con un efecto más cercano.
La Nebulosa de la Hélice aparece como un enorme ojo rojo aparece en esta imagen de infrarrojos.
En cuestión de ventas, IBM se dedica sobre todo a servicios, de los que aproximadamente una quinta parte son de programas y otra quinta de equipos.
El viernes nombraron a Filip Dierckx como nuevo director general del banco.
¿Abriste conscientemente con este estilo hacia una capa más amplia?
Esta zona de formación estelar produce constantemente nuevas estrellas.
La Cámara de Representantes de los Estados Unidos quería votar sobre el proyecto de salvación, el voto en senado puede ser el primero de octubre.
Ya está ante el Congreso el proyecto de ley que brinda derecho a la autoridad para el control de las empresas especializadas para el suministro de datos personales.
La posible vacuna se desarrolló dentro de los 14 días de recibida la secuencia de China.
Además, de cada modelo se realiza una imagen gráfica "inteligente" donde se pueden "pinchar" diferentes partes de turismo.
En primer lugar, el período de incubación y la duración del curso de la enfermedad por coronavirus de humanos son muy similares.
La denominación de hepatitis es el nombre común de diferentes enfermedades del hígado causadas por virus.
"Las únicas personas que sabían que iban a entrar en el parque Zuccotti estaban en los más altos niveles del departamento."
Por tanto, una primera observación es que Honda ha renovado este modelo en un plazo más corto que el empleado por otros fabricantes.
En la empresa de auditoria y asesoramiento, KPMG, Roman Dykta se encarga de la caza de talentos.
¿Cómo recuerda su otro proyecto Mother Love Bone?
En el penúltimo mes del año suman 390 muertes presuntamente relacionadas con el crimen organizado.
Recordó, que en varios ministerios en los puestos de lugartenientes hay gente que pertenecen al TOP 09, que votó contra el presupuesto.
El cohete tenía un apogeo de 1.800 metros, unos 80 cm de longitud y no llegaba a los 5 kg de peso.
Un porcentaje mayor de trabajadores sanitarios, en particular el personal de enfermería, son mujeres, y tienen más posibilidades de exposición al virus.
La Unión Europea se comprometió a aportar 7.200 millones de euros en tres años y Francia 1.260 millones de euros (es decir, 420 millones al año).
No es necesario lavarse durante mucho tiempo (10 minutos).
No cabe dudas que Zagar y su conjunto están de moda, pero nadie les ha preguntado si llevan o no gustosamente esta etiqueta.
"En caso necesario, deberán adoptarse nuevas medidas de austeridad", opina el Comisario de Asuntos Económicos, Olli Rehn.
Esto comporta que las sociedades tendrán que recuperar 81 mil libras esterlinas para enfrentar el primer año de interés.
En opinión de El Mundo el error de la dirección política de los Estados Unidos fue el que llevó a la economía mundial al borde del abismo.
Pero hay quien lo intenta, y Paul Newman es su ejemplo.
En este capítulo de Education Watch, Bruce Fuller y Lance T. Izumi discuten las posiciones de los candidatos sobre la educación bilingüe.
En la segunda parte de su carrera tuvo éxitos también en la NHL: jugando con Detroit ganó dos veces la Copa Stanley.
"Para ellos, la vida bajo los Jemeres Rojos era gloriosa, pero el régimen se ha convertido en un símbolo del mal".
Y lo peor que en estas circunstancias podríamos hacer es engañarnos a nosotros mismos.
De este modo, Alpine refuerza su experiencia en la construcción de túneles.
Subieron al vagón con una escalera y destrozaron un cristal.
También se realizarán pruebas de habilidad con automóviles y motocicletas clásicas en un circuito habilitado en el exterior del recinto ferial.
"Han vuelto con sus legítimos dueños".
El HCoV-NL63 está asociado a la laringitis obstructiva, también conocida como crup.
Entonces, tener sida era sinónimo de muerte.
Además falleció una mujer de 30 años, después de dar un vuelco con su coche cerca de Aschaffenburg en una carretera resbaladiza.
Es cierto que la situación en Alemania no es tan explosiva como en Francia.
El sistema bancario de Alemania es relativamente estable, acentuó solo la semana pasada el ministro federal de Finanzas Peter Steinbrück.
Con los resultados del 28-N, el PP podría ser decisivo en los municipios de Lérida, Tarragona y Barcelona
Skilling está cumpliendo una condena de más de 24 años.
Tómbola y pastelillo salado en la fiesta de Navidad de los ministerios
Y se desveló, por lo visto, esto todavía no funciona bien con la gestión de riesgo en la banca de inversiones.
Para ello obtuvieron los talonarios en el mercado del Distrito de Józsefváros y los sellos circulares fueron fabricados en la ciudad de Kiskunhalas.
Incluso sin que interceda el señor Chen, el PPD tendrá dificultades para escoger entre sus posibles candidatos.
Los quienes empezaron con la vacuna el año pasado o antes, tienen que cubrir otras dosis de la vacuna también.
